import contextlib
import os
import signal
import subprocess
import sys

import pytest

from caseapp import create_app
from tests.conftest import REDIS_URL, make_config, need, redis_problem


class WorkerProcess:
    """A real `caseapp worker` in its own process, configured only through the environment."""

    def __init__(self, env: dict, args: tuple[str, ...] = ("--concurrency=2",)):
        self.env = env
        self.args = args
        self.proc: subprocess.Popen | None = None

    def start(self) -> "WorkerProcess":
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "caseapp.cli", "worker", *self.args,
             "--without-heartbeat", "--without-gossip", "--without-mingle"],
            env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True)
        return self

    def kill(self, sig=signal.SIGKILL) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, sig)
            self.proc.wait(timeout=30)

    def stop(self) -> None:
        """Warm shutdown, then SIGKILL: a test must not hang on a worker that will not stop."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()  # the main process only: it shuts its pool down itself
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=10)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=30)


def worker_env(database_url: str, broker_url: str, instance) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CASEAPP_", "CELERY_"))}
    env.update(DATABASE_URL=database_url, CELERY_BROKER_URL=broker_url, SECRET_KEY="test-secret",
               CASEAPP_INSTANCE_PATH=str(instance), CASEAPP_WEBHOOK_ALLOW_PRIVATE="1",
               CASEAPP_RETRY_DELAYS="1,1,1")
    return env


@pytest.fixture(scope="session", params=["redis", "filesystem"])
def broker(request, tmp_path_factory):
    if request.param == "redis":
        need("Redis", redis_problem())
        import redis

        redis.Redis.from_url(REDIS_URL).flushdb()
        return REDIS_URL
    return "filesystem://"


@pytest.fixture(scope="session")
def worker_instance(tmp_path_factory):
    return tmp_path_factory.mktemp("worker-instance")


@pytest.fixture(scope="session")
def broker_app(app, database_url, broker, worker_instance):
    """The same database as `app`, but enqueueing to a real broker that a worker reads."""
    return create_app(make_config(database_url, worker_instance, broker_url=broker))


@pytest.fixture
def worker(broker_app, database_url, broker, worker_instance, seeded):
    process = WorkerProcess(worker_env(database_url, broker, worker_instance)).start()
    yield process
    process.stop()
