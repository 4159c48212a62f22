import contextlib
import json
import os
import signal
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
import time_machine

from caseapp import create_app
from tests import logscan
from tests.conftest import REDIS_URL, make_config, need, redis_problem
from tests.helpers import free_port

WORKER_MAIN = Path(__file__).with_name("worker_main.py")


class WorkerProcess:
    """A real `caseapp worker` in its own process, configured only through the environment.

    With a ledger path, every task the worker finishes is written there (see worker_main.py).
    Its output goes to `log_path`, a file of the run's log scan (tests.logscan).
    """

    def __init__(self, env: dict, args: tuple[str, ...] = ("--concurrency=2",),
                 ledger: Path | None = None):
        self.env = dict(env)
        self.args = args
        self.ledger = ledger
        if ledger is not None:
            self.env["CASEAPP_TEST_TASK_LEDGER"] = str(ledger)
        self.proc: subprocess.Popen | None = None
        self.log_path: Path | None = None

    def start(self) -> "WorkerProcess":
        with logscan.output("worker") as log:
            self.log_path = Path(log.name)
            self.proc = subprocess.Popen(
                [sys.executable, str(WORKER_MAIN), "worker", *self.args,
                 "--without-heartbeat", "--without-gossip", "--without-mingle"],
                env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        return self

    def finished(self, task: str | None = None) -> list[dict]:
        """The tasks this worker has finished so far, oldest first."""
        if self.ledger is None or not self.ledger.exists():
            return []
        entries = [json.loads(line) for line in self.ledger.read_text().splitlines() if line]
        return [e for e in entries if task is None or e["task"] == task]

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
    """The environment of a worker process; it shares the test's clock if that is travelled."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CASEAPP_", "CELERY_"))}
    env.update(DATABASE_URL=database_url, CELERY_BROKER_URL=broker_url, SECRET_KEY="test-secret",
               CASEAPP_INSTANCE_PATH=str(instance), CASEAPP_WEBHOOK_ALLOW_PRIVATE="1",
               CASEAPP_RETRY_DELAYS="1,1,1")
    if time_machine.escape_hatch.is_travelling():
        env["CASEAPP_TEST_NOW"] = datetime.now(UTC).isoformat()
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
def worker(broker_app, database_url, broker, worker_instance, seeded, tmp_path):
    process = WorkerProcess(worker_env(database_url, broker, worker_instance),
                            ledger=tmp_path / "ledger.jsonl").start()
    yield process
    process.stop()


class Mailbox:
    """aiosmtpd's handler: keeps every message it is given, and to whom it was sent."""

    def __init__(self):
        self.messages = []
        self.recipients = []

    async def handle_DATA(self, server, session, envelope):  # aiosmtpd calls it by this name
        from email import message_from_bytes

        self.recipients.append(envelope.rcpt_tos)
        self.messages.append(message_from_bytes(envelope.content))
        return "250 OK"

    def clear(self) -> None:
        self.messages.clear()
        self.recipients.clear()


@pytest.fixture(scope="session")
def smtp_server():
    """A real SMTP server on 127.0.0.1 for the workers' mail: (controller, mailbox)."""
    from aiosmtpd.controller import Controller

    mailbox = Mailbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield controller, mailbox
    controller.stop()
