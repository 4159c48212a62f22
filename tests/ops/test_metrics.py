"""/metrics: not public; latency by route, intakes, the database's figures — above all the age
of the oldest undelivered referral, which rises while nothing is sent and falls when it is."""

import re
from datetime import datetime, timedelta

import pytest
import time_machine

from caseapp.rules.calendar import TOKYO
from tests.helpers import EXAMPLE, assert_problem
from tests.services.delivery.helpers import run_due

FAR = {"REMOTE_ADDR": "192.0.2.10"}


def value(text: str, name: str, labels: str = "") -> float:
    match = re.search(rf"^{re.escape(name + labels)} (\S+)$", text, re.MULTILINE)
    assert match, f"{name}{labels} not in the scrape"
    return float(match.group(1))


def test_metrics_are_for_a_local_scraper_or_a_token_that_may_read_them(api, tokens, anon):
    assert anon.get("/metrics").status_code == 200  # loopback, not through a proxy
    assert_problem(anon.get("/metrics", environ_base=FAR), 401)
    assert_problem(anon.get("/metrics", headers={"X-Forwarded-For": "192.0.2.10"}), 401)
    assert_problem(api.get("/metrics", environ_base=FAR), 403)  # the counter's token
    assert_problem(api.as_("not-a-token").get("/metrics", environ_base=FAR), 401)
    scraped = api.as_(tokens["admin"]).get("/metrics", environ_base=FAR)
    assert scraped.status_code == 200
    assert scraped.mimetype == "text/plain"


def test_the_oldest_undelivered_referral_rises_while_nothing_is_sent_and_falls_after(
        app, api, anon, session):
    start = datetime(2026, 12, 1, 10, 0, tzinfo=TOKYO)
    with time_machine.travel(start, tick=False):
        assert api.post("/api/v1/consultations", json=EXAMPLE).status_code == 201
        first = anon.get("/metrics").get_data(as_text=True)
    assert value(first, "caseapp_oldest_undelivered_referral_age_seconds") == 0
    assert value(first, "caseapp_referrals", '{status="requested"}') >= 1
    assert value(first, "caseapp_intakes_total") >= 1
    assert 'route="/api/v1/consultations"' in first
    with time_machine.travel(start + timedelta(minutes=10), tick=False):
        stalled = anon.get("/metrics").get_data(as_text=True)
        assert value(stalled, "caseapp_oldest_undelivered_referral_age_seconds") == 600
        assert value(stalled, "caseapp_deliveries_due") >= 1
        run_due(session, app.config["CASEAPP"])
        after = anon.get("/metrics").get_data(as_text=True)
    assert value(after, "caseapp_oldest_undelivered_referral_age_seconds") == 0
    assert value(after, "caseapp_deliveries_due") == 0
    assert value(after, "caseapp_reminders_due") == 0


@pytest.mark.parametrize("path", ["/health/live", "/health/ready", "/api/v1/health/live",
                                  "/api/v1/health/ready"])
def test_probes_answer_without_a_token(anon, path):
    response = anon.get(path, environ_base=FAR)
    assert response.status_code == 200, response.json
    assert response.json["status"] in ("ok", "degraded")
    if path.endswith("ready"):
        assert response.json["database"] == "ok" and "broker" in response.json


@pytest.mark.parametrize(("database", "broker", "code", "status"), [
    (True, True, 200, "ok"), (True, False, 200, "degraded"),
    (False, True, 503, "down"), (False, False, 503, "down")])
@pytest.mark.parametrize("path", ["/health/ready", "/api/v1/health/ready", "/api/v1/health"])
def test_readiness_needs_the_database_and_only_reports_the_broker(
        anon, monkeypatch, path, database, broker, code, status):
    from caseapp.api import health

    monkeypatch.setattr(health, "_database_ok", lambda: database)
    monkeypatch.setattr(health, "broker_ok", lambda: broker)
    response = anon.get(path)
    assert response.status_code == code
    assert response.json == {"status": status, "database": "ok" if database else "down",
                             "broker": "ok" if broker else "down"}
