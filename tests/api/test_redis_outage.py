"""Redis going away under a running API: rate limits degrade to memory, nothing answers 500.

Production puts the rate limiter's counters and the Celery broker on the same Redis. A private
redis-server is started for the test so it can be stopped without disturbing anyone else's.
"""

import logging
import shutil
import socket
import subprocess

import pytest

from caseapp import create_app
from tests.conftest import Api, make_config, need
from tests.helpers import EXAMPLE, assert_problem, wait_for


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _listening(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
    except OSError:
        return False
    return True


def _answers(port: int) -> bool:
    import redis

    try:
        return bool(redis.Redis(port=port, socket_connect_timeout=0.5).ping())
    except redis.RedisError:
        return False


class PrivateRedis:
    def __init__(self, folder):
        self.port = _free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(folder)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for(lambda: _listening(self.port) and _answers(self.port), timeout=20)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=20)
        wait_for(lambda: not _listening(self.port), timeout=10)


@pytest.fixture
def private_redis(tmp_path):
    binary = shutil.which("redis-server")
    need("redis-server", None if binary else "no redis-server binary on PATH")
    server = PrivateRedis(tmp_path)
    yield server
    server.stop()


def test_intake_is_201_with_redis_stopped_under_the_running_api(
        database_url, tmp_path, tokens, private_redis, caplog):
    config = make_config(database_url, tmp_path / "instance", broker_url=private_redis.url,
                         ratelimit_enabled=True, ratelimit_default="5 per minute")
    assert config.ratelimit_storage_uri == private_redis.url
    api = Api(create_app(config).test_client(), tokens["counter"])
    assert api.post("/api/v1/consultations", json=EXAMPLE).status_code == 201
    import redis

    # The counters really live in Redis while it is up.
    assert redis.Redis.from_url(private_redis.url).keys("*caseapp-limits*")

    private_redis.stop()
    with caplog.at_level(logging.WARNING):
        response = api.post("/api/v1/consultations", json=EXAMPLE)
    assert response.status_code == 201, response.get_data(as_text=True)
    assert "in-memory" in caplog.text  # the degradation is logged
    # Delivery hints could not be queued: the rows wait in the database for the sweeper.
    assert response.json["referrals"]

    # Sign-in failures are still counted (in memory), and answered 401, not 500.
    assert_problem(api.as_("cat_wrong").get("/api/v1/cases"), 401)
    health = api.get("/api/v1/health")
    assert health.status_code == 200 and health.json["broker"] == "down"

    # Limits still hold, counted per process until Redis returns.
    codes = [api.get("/api/v1/cases").status_code for _ in range(7)]
    assert set(codes) == {200, 429} and codes.index(429) == 5, codes


def test_an_api_started_while_redis_is_down_serves_intake(database_url, tmp_path, tokens,
                                                          private_redis):
    private_redis.stop()
    config = make_config(database_url, tmp_path / "instance", broker_url=private_redis.url,
                         ratelimit_enabled=True)
    api = Api(create_app(config).test_client(), tokens["counter"])
    response = api.post("/api/v1/consultations", json=EXAMPLE)
    assert response.status_code == 201, response.get_data(as_text=True)
