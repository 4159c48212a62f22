"""With a real worker: the oldest-undelivered gauge rises while the worker is stopped and falls
once it runs; the worker's log lines for a request's deliveries carry that request's id; its
counters reach /metrics through the shared multiprocess folder."""

import json
import re

import pytest

from caseapp import create_app
from tests.conftest import Api, make_config
from tests.helpers import EXAMPLE, wait_for
from tests.tasks.conftest import WorkerProcess, worker_env

pytestmark = pytest.mark.real_commits  # the worker process reads what the test committed


@pytest.fixture
def metrics_dir(tmp_path):
    folder = tmp_path / "metrics"
    folder.mkdir()
    return folder


@pytest.fixture
def scraped_app(database_url, broker, worker_instance, metrics_dir):
    return create_app(make_config(database_url, worker_instance, broker_url=broker,
                                  metrics_dir=metrics_dir))


def gauge(api, name: str, labels: str = "") -> float:
    text = api.as_(None).get("/metrics").get_data(as_text=True)  # a local scraper
    match = re.search(rf"^{re.escape(name + labels)} (\S+)$", text, re.MULTILINE)
    return float(match.group(1)) if match else 0.0


def test_the_gauge_rises_without_a_worker_and_the_worker_logs_the_request_id(
        scraped_app, database_url, broker, worker_instance, seeded, tokens, metrics_dir):
    # A hint an earlier test left in the queue names a row id the emptied tables reuse; its
    # worker line would carry that test's request id, not this one's.
    scraped_app.extensions["celery"].control.purge()
    api = Api(scraped_app.test_client(), tokens["counter"])
    made = api.post("/api/v1/consultations", json=EXAMPLE,
                    headers={"X-Request-ID": "req-intake-0042"})
    assert made.status_code == 201, made.json
    oldest = "caseapp_oldest_undelivered_referral_age_seconds"
    wait_for(lambda: gauge(api, oldest) >= 1.0, timeout=30)

    env = {**worker_env(database_url, broker, worker_instance),
           "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir)}
    worker = WorkerProcess(env).start()
    log_path = worker.log_path
    try:
        wait_for(lambda: gauge(api, oldest) == 0.0, timeout=60)
        wait_for(lambda: gauge(api, "caseapp_delivery_attempts_total",
                               '{outcome="delivered"}') >= 1, timeout=30)

        def delivery_lines():
            found = []
            for raw in log_path.read_text(encoding="utf-8").splitlines():
                try:
                    line = json.loads(raw)
                except ValueError:
                    continue
                if line.get("message") == "delivery":
                    found.append(line)
            return found

        def ours():
            lines = [x for x in delivery_lines() if x.get("request_id") == "req-intake-0042"]
            delivered = {x["delivery_id"] for x in lines if x["outcome"] == "delivered"}
            every_row_delivered = delivered and delivered == {x["delivery_id"] for x in lines}
            return lines if every_row_delivered else None

        # a second message for a row already claimed is logged as "skipped": not a failure
        lines = wait_for(ours, timeout=30, message=delivery_lines)
        assert {x["outcome"] for x in lines} <= {"delivered", "skipped"}, lines
    finally:
        worker.stop()
    text = log_path.read_text(encoding="utf-8")
    assert "山田" not in text and "ヤマダ" not in text
