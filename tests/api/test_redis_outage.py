"""Redis going away under a running API: rate limits degrade to memory, nothing answers 500.

Production puts the rate limiter's counters and the Celery broker on the same Redis. A private
redis-server is started for the test so it can be stopped without disturbing anyone else's.
"""

import logging

from caseapp import create_app
from tests.conftest import Api, make_config
from tests.helpers import EXAMPLE, assert_problem


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
    health = api.get("/api/v1/health/ready")  # still ready: intake needs only the database
    assert health.status_code == 200
    assert health.json == {"status": "degraded", "database": "ok", "broker": "down"}

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
