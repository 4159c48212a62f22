"""A person in danger is acted on today: the danger is named, supervisors are alerted at once,
the next action is due within the hour, routing reaches the 福祉保健所, and staff can send on
life_safety in one call that a supervisor reviews afterwards (docs/emergency.md)."""

from datetime import date, datetime, timedelta

import pytest
import time_machine
from sqlalchemy import select

from caseapp.models import Disclosure, Referral, Reminder, StaffAlert, User
from caseapp.models.types import utcnow
from caseapp.rules.calendar import TOKYO, is_business_day
from caseapp.services.casework import alerts
from caseapp.services.delivery.gateways import (
    Gateways,
    RecordingMailGateway,
    RecordingWebhookGateway,
)
from tests.api.loop_helpers import intake, referral_id
from tests.helpers import assert_problem
from tests.services.delivery.helpers import run_due

NAME = "土佐 一郎"
# A named client, an oral consent that does not say it covers sensitive data.
IN_DANGER = {
    "client": {"name": NAME, "name_kana": "トサ イチロウ", "phone": "090-1111-2222"},
    "channel": "window",
    "topics": ["health_disability"],
    "summary": "仕事も家族も失って、もう死にたい",
    "consent": {"scope": "network", "method": "oral",
                "given_at": (utcnow() - timedelta(minutes=5)).isoformat()},
}


@pytest.fixture
def smtp(app, monkeypatch):
    config = app.config["CASEAPP"].with_(smtp_host="127.0.0.1")
    monkeypatch.setitem(app.config, "CASEAPP", config)
    return config


def test_the_danger_is_named_and_routed_to_the_hokenjo_with_its_reason(api):
    made = intake(api, IN_DANGER)
    assert made["urgency"] == "emergency"
    emergency = made["emergency"]
    assert [d["rule_id"] for d in emergency["dangers"]] == ["danger_to_life"]
    assert emergency["words"] == ["死にたい"]
    assert emergency["alert_id"] is not None
    decisions = {d["partner"]: d for d in made["routing"]["decisions"]}
    assert decisions["hokenjo"]["rule_id"] == "danger_to_life"
    assert "精神保健福祉相談" in decisions["hokenjo"]["reason"]
    assert decisions["jiritsu"]["rule_id"] == "danger_to_life"  # not the generic fallback
    referrals = {r["partner"]: r for r in made["referrals"]}
    assert set(referrals) == {"hokenjo", "jiritsu"}
    for referral in referrals.values():
        # Sensitive topic, consent silent on it: each says why it waits.
        assert referral["status"] == "awaiting_consent"
        assert referral["waiting_reason"]["code"] == "consent_not_sensitive"
        assert "要配慮個人情報" in referral["waiting_reason"]["message"]


def test_the_next_action_is_due_within_the_hour_and_the_case_shows_the_danger_first(
        api, session):
    before = utcnow()
    made = intake(api, IN_DANGER)
    routine = intake(api, {"channel": "window", "topics": ["income_living"],
                           "summary": "生活費が足りない"})
    case = api.get(f"/api/v1/cases/{made['case_id']}").json
    due = session.get(Referral, made["referrals"][0]["id"]).case.next_action_at
    assert before < due <= utcnow() + timedelta(hours=1)
    assert case["next_action"].startswith("【緊急】")
    assert case["emergency"]["words"] == ["死にたい"]
    listed = api.get("/api/v1/cases").json["items"]
    assert listed[0]["id"] == made["case_id"] and listed[0]["emergency"] is not None
    assert any(c["id"] == routine["case_id"] and c["emergency"] is None for c in listed)
    assert api.get("/api/v1/consultations").json["items"][0]["id"] == made["id"]
    assert api.get("/api/v1/referrals").json["items"][0]["urgency"] == "emergency"


def test_supervisors_are_alerted_at_once_by_alert_and_a_mail_with_nothing_personal(
        api, session, tokens, smtp):
    supervisor = session.scalar(select(User).where(User.role == "supervisor"))
    supervisor.email = "supervisor@example.jp"
    session.commit()
    earlier = api.get("/api/v1/alerts")  # nothing yet for the counter
    assert earlier.status_code == 200
    made = intake(api, IN_DANGER)
    listed = api.as_(tokens["supervisor"]).get("/api/v1/alerts").json["items"]
    assert listed[0]["kind"] == "emergency" and listed[0]["id"] == made["emergency"]["alert_id"]
    mail = RecordingMailGateway()
    assert alerts.mail_pending(session, mail, smtp) == 1
    (sent,) = mail.sent
    assert sent.to == "supervisor@example.jp"
    text = sent.message.get_content() + str(sent.message["Subject"])
    assert "緊急" in text and f"ケース #{made['case_id']}" in text
    for personal in (NAME, "トサ", "090", "死にたい", "家族"):
        assert personal not in text


def test_without_a_supervisor_address_the_configured_mailbox_is_alerted(api, session, app,
                                                                       monkeypatch):
    config = app.config["CASEAPP"].with_(smtp_host="127.0.0.1",
                                         supervisor_email="fukushi@city.example.jp")
    monkeypatch.setitem(app.config, "CASEAPP", config)
    intake(api, IN_DANGER)
    mail = RecordingMailGateway()
    assert alerts.mail_pending(session, mail, config) == 1
    assert [m.to for m in mail.sent] == ["fukushi@city.example.jp"]


def test_a_waiting_referral_is_sent_on_life_safety_in_one_call_then_reviewed(
        api, session, app, tokens):
    made = intake(api, IN_DANGER)
    rid = referral_id(made, "hokenjo")
    refused = api.post(f"/api/v1/referrals/{rid}/life-safety", json={})
    assert "reason" in assert_problem(refused, 422)["errors"]

    sent = api.post(f"/api/v1/referrals/{rid}/life-safety",
                    json={"reason": "自殺の危険が高く、本人は混乱していて同意の確認が難しい"})
    assert sent.status_code == 200, sent.json
    body = sent.json
    assert (body["status"], body["legal_basis"]) == ("requested", "life_safety")
    assert body["waiting_reason"] is None
    assert body["life_safety"][0]["invoked_by"] == "counter-1"
    assert "第27条第1項第2号" in body["history"][-1]["note"]
    # Sent at once: its outbox row is due now.
    run_due(session, app.config["CASEAPP"],
            Gateways(RecordingWebhookGateway(), RecordingMailGateway()))
    session.expire_all()
    assert session.get(Referral, rid).status == "sent"
    (logged,) = session.scalars(select(Disclosure).where(Disclosure.referral_id == rid)).all()
    assert logged.basis == "life_safety"
    partner_view = api.as_(tokens["partner:jiritsu"]).get(
        f"/api/v1/partner/referrals/{referral_id(made, 'jiritsu')}")
    assert partner_view.status_code == 404  # only the one named went

    review_alert = session.scalar(select(StaffAlert).where(
        StaffAlert.kind == "life_safety_review", StaffAlert.referral_id == rid))
    assert review_alert.role == "supervisor" and NAME not in review_alert.message
    again = api.post(f"/api/v1/referrals/{rid}/life-safety", json={"reason": "再度"})
    assert assert_problem(again, 409)["current_status"] == "sent"

    review = {"outcome": "appropriate", "note": "生命の危険があり同意を待てなかった"}
    assert_problem(api.post(f"/api/v1/referrals/{rid}/life-safety/review", json=review), 403)
    supervisor = api.as_(tokens["supervisor"])
    reviewed = supervisor.post(f"/api/v1/referrals/{rid}/life-safety/review", json=review)
    assert reviewed.status_code == 200, reviewed.json
    (row,) = reviewed.json["life_safety"]
    assert (row["outcome"], row["reviewed_by"]) == ("appropriate", "supervisor-1")
    session.expire_all()
    assert session.get(StaffAlert, review_alert.id).read_at is not None
    assert_problem(supervisor.post(f"/api/v1/referrals/{rid}/life-safety/review",
                                   json=review), 409)
    other = referral_id(made, "jiritsu")
    assert_problem(supervisor.post(f"/api/v1/referrals/{other}/life-safety/review",
                                   json=review), 409)


def test_life_safety_does_not_override_a_stop_of_use(api, session, tokens):
    made = intake(api, IN_DANGER)
    stopped = api.as_(tokens["supervisor"]).post(
        f"/api/v1/clients/{made['client_id']}/stop-use", json={"reason": "本人の請求"})
    assert stopped.status_code in (200, 201), stopped.json
    rid = referral_id(made, "hokenjo")
    waiting = api.get(f"/api/v1/referrals/{rid}").json
    assert waiting["status"] == "awaiting_consent"
    refused = api.post(f"/api/v1/referrals/{rid}/life-safety", json={"reason": "危険"})
    assert_problem(refused, 409)


def test_the_hokenjo_is_a_block_level_partner_of_the_seed(api):
    partner = api.get("/api/v1/partners/hokenjo").json
    assert partner["layer"] == "block" and "福祉保健所" in partner["name"]
    assert "精神保健福祉相談" in partner["description"]


SATURDAY_NIGHT = datetime(2026, 11, 28, 23, 30, tzinfo=TOKYO)


@pytest.mark.calendar
def test_an_emergency_is_chased_within_the_hour_even_on_a_saturday_night(api, session):
    """A routine case waits for the next business morning; a person in danger does not."""
    with time_machine.travel(SATURDAY_NIGHT, tick=False):
        made = intake(api, {**IN_DANGER, "consent": {**IN_DANGER["consent"],
                                                     "given_at": SATURDAY_NIGHT.isoformat()}})
        routine = intake(api, {"channel": "window", "topics": ["income_living"],
                               "summary": "生活費が足りない"})

        def chase_at(case_id):
            return session.scalar(select(Reminder.due_at).where(
                Reminder.case_id == case_id, Reminder.kind == "case_next_action",
                Reminder.status == "due"))

        assert chase_at(made["case_id"]) <= SATURDAY_NIGHT + timedelta(hours=1)
        routine_chase = chase_at(routine["case_id"]).astimezone(TOKYO)
        assert is_business_day(routine_chase.date()) and routine_chase.hour == 9
        assert routine_chase.date() > date(2026, 11, 29)
        # Rescheduled by staff, the emergency case is still chased when its action falls due.
        later = SATURDAY_NIGHT + timedelta(hours=2)
        changed = api.patch(f"/api/v1/cases/{made['case_id']}",
                            json={"next_action_at": later.isoformat(), "next_action": "再確認"})
        assert changed.status_code == 200, changed.json
        assert chase_at(made["case_id"]) == later
