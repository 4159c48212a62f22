"""The staff side of the loop: list and chase referrals, refer by hand, cancel, re-route."""

from datetime import datetime

import pytest
import time_machine
from sqlalchemy import select

from caseapp.models import Case, Delivery, Disclosure, Partner, Referral, User
from caseapp.rules.calendar import TOKYO
from caseapp.services.core.actors import SYSTEM
from caseapp.services.delivery.gateways import (
    Gateways,
    RecordingMailGateway,
    RecordingWebhookGateway,
)
from caseapp.services.referrals import lifecycle
from tests.api.loop_helpers import (
    intake,
    move,
    one_each,
    record_meeting,
    refer,
    referral_id,
    walk,
)
from tests.helpers import EXAMPLE, assert_problem
from tests.services.delivery.helpers import run_due

NO_CONSENT = {k: v for k, v in EXAMPLE.items() if k != "consent"}


def _ids(response):
    assert response.status_code == 200, response.json
    return sorted(r["id"] for r in response.json["items"])


def _lost(api):
    return _ids(api.get("/api/v1/cases", query_string={"lost": "true"}))


# -- listing ------------------------------------------------------------------------------

def test_staff_list_referrals_by_status_partner_and_case(api, tokens):
    ids = one_each(api)  # houkatsu, houterasu, shihoshoshi by rule; jiritsu by hand
    other = intake(api, {**EXAMPLE, "client": {"name": "別の人"}})
    walk(api.as_(tokens["partner:houkatsu"]), ids["houkatsu"], "received")
    assert len(_ids(api.get("/api/v1/referrals"))) == 7
    assert _ids(api.get("/api/v1/referrals", query_string={"status": "received"})) == [
        ids["houkatsu"]]
    assert _ids(api.get("/api/v1/referrals", query_string={"partner": "jiritsu"})) == [
        ids["jiritsu"]]
    assert _ids(api.get("/api/v1/referrals", query_string={"case_id": other["case_id"]})) == \
        sorted(r["id"] for r in other["referrals"])
    assert _ids(api.get("/api/v1/referrals?status=received&status=requested&partner=houkatsu")
                ) == sorted([ids["houkatsu"], referral_id(other, "houkatsu")])
    assert api.get("/api/v1/referrals", query_string={"partner": "nobody"}).json["total"] == 0
    assert "status.0" in assert_problem(
        api.get("/api/v1/referrals", query_string={"status": "lost"}), 422)["errors"]
    page = api.get("/api/v1/referrals", query_string={"per_page": 2, "page": 2}).json
    assert len(page["items"]) == 2 and page["total"] == 7


@pytest.mark.calendar
def test_the_ack_sla_counts_business_days_and_overdue_follows_it(api, tokens):
    # Friday 25 Dec: houkatsu has 2 business days; 28 Dec counts, 29 Dec – 3 Jan is closed.
    with time_machine.travel(datetime(2026, 12, 25, 10, 0, tzinfo=TOKYO), tick=False):
        made = intake(api)
    rid = referral_id(made, "houkatsu")
    houterasu_rid = referral_id(made, "houterasu")  # 3 business days → 5 Jan
    item = {r["id"]: r for r in api.get("/api/v1/referrals").json["items"]}
    assert datetime.fromisoformat(item[rid]["ack_due_at"]) == datetime(2027, 1, 4, 10, 0,
                                                                       tzinfo=TOKYO)
    assert datetime.fromisoformat(item[houterasu_rid]["ack_due_at"]) == datetime(
        2027, 1, 5, 10, 0, tzinfo=TOKYO)
    with time_machine.travel(datetime(2027, 1, 4, 9, 59, tzinfo=TOKYO), tick=False):
        assert _ids(api.get("/api/v1/referrals", query_string={"overdue": "true"})) == []
    with time_machine.travel(datetime(2027, 1, 4, 10, 1, tzinfo=TOKYO), tick=False):
        overdue = api.get("/api/v1/referrals", query_string={"overdue": "true"})
        assert _ids(overdue) == [rid] and overdue.json["items"][0]["overdue"] is True
        assert rid not in _ids(api.get("/api/v1/referrals", query_string={"overdue": "false"}))
        # Receiving it starts the clock for the decision: no longer overdue.
        walk(api.as_(tokens["partner:houkatsu"]), rid, "received")
        assert _ids(api.get("/api/v1/referrals", query_string={"overdue": "true"})) == []
    with time_machine.travel(datetime(2027, 1, 7, 10, 2, tzinfo=TOKYO), tick=False):
        # Received on 4 Jan and neither accepted nor rejected two business days later.
        assert _ids(api.get("/api/v1/referrals", query_string={"overdue": "true"})) == sorted(
            [rid, houterasu_rid, referral_id(made, "shihoshoshi")])


@pytest.mark.calendar
def test_open_before_finds_referrals_still_open_after_a_date(api, tokens):
    consent = {**EXAMPLE["consent"], "given_at": "2026-11-02T09:00:00+09:00"}
    with time_machine.travel(datetime(2026, 11, 2, 10, 0, tzinfo=TOKYO), tick=False):
        old = intake(api, {**EXAMPLE, "consent": consent})
    new = intake(api, {**EXAMPLE, "client": {"name": "新しい人"}})
    walk(api.as_(tokens["partner:houkatsu"]), referral_id(old, "houkatsu"),
         "received", "rejected")
    found = _ids(api.get("/api/v1/referrals", query_string={"open_before": "2026-11-03"}))
    assert found == sorted([referral_id(old, "houterasu"), referral_id(old, "shihoshoshi")])
    assert not set(found) & {r["id"] for r in new["referrals"]}
    assert_problem(api.get("/api/v1/referrals", query_string={"open_before": "昨日"}), 422)


def test_staff_lists_are_audited(api, session):
    from caseapp.models import AuditEntry

    one_each(api)
    api.get("/api/v1/referrals", query_string={"partner": "houkatsu"})
    row = session.scalar(select(AuditEntry).where(AuditEntry.action == "list",
                                                  AuditEntry.resource_type == "referral"))
    assert row.actor_label == "counter-1" and row.detail["filters"]["partner"] == "houkatsu"


# -- manual referral -----------------------------------------------------------------------

def test_a_manual_referral_under_consent_is_requested_and_delivered(api, session):
    made = intake(api)
    body = refer(api, made["case_id"], "hellowork", reason="就労支援を希望", method="accompany")
    assert body["status"] == "requested" and body["partner"] == "hellowork"
    assert body["legal_basis"].startswith("consent:") and body["rule_id"] == "manual"
    assert body["consultation_id"] == made["id"] and body["urgency"] == "normal"
    assert body["ack_due_at"] is not None
    rows = session.scalars(select(Delivery).where(Delivery.referral_id == body["id"])).all()
    assert [d.channel for d in rows] == ["inbox"] and rows[0].state == "pending"


def test_a_manual_referral_without_consent_waits_and_sends_nothing(api, session, tokens):
    made = intake(api, NO_CONSENT)
    body = refer(api, made["case_id"], "hellowork")
    assert body["status"] == "awaiting_consent" and body["legal_basis"] is None
    assert body["ack_due_at"] is None
    assert session.scalars(select(Delivery).where(Delivery.referral_id == body["id"])).all() == []


def test_a_manual_referral_may_rest_on_a_recorded_exception(api, tokens):
    made = intake(api, NO_CONSENT)
    life = refer(api, made["case_id"], "fukushi_jimusho", exception="life_safety",
                 exception_reason="本人が自殺をほのめかし連絡が取れない", urgency="emergency")
    assert (life["status"], life["legal_basis"], life["urgency"]) == (
        "requested", "life_safety", "emergency")
    assert life["life_safety"][0]["reason"] == "本人が自殺をほのめかし連絡が取れない"
    assert life["life_safety"][0]["outcome"] is None  # a supervisor reviews it afterwards
    meeting_id = record_meeting(api.as_(tokens["supervisor"]), made["case_id"], ["jiritsu"])
    meeting = refer(api, made["case_id"], "jiritsu", exception="support_meeting",
                    meeting_id=meeting_id)
    assert (meeting["status"], meeting["legal_basis"]) == (
        "requested", f"support_meeting:{meeting_id}")


def test_a_manual_support_meeting_referral_names_its_meeting_and_is_sent(api, tokens, session,
                                                                        app):
    # Declared without its meeting, a referral was held at send time: now the meeting is
    # named when the referral is made, and it leaves.
    made = intake(api, NO_CONSENT)
    missing = api.post("/api/v1/referrals", json={
        "case_id": made["case_id"], "partner": "jiritsu", "reason": "支援会議で決定",
        "method": "formal_request", "exception": "support_meeting"})
    assert "meeting_id" in assert_problem(missing, 422)["errors"]
    meeting_id = record_meeting(api.as_(tokens["supervisor"]), made["case_id"], ["houkatsu"])
    outside = api.post("/api/v1/referrals", json={
        "case_id": made["case_id"], "partner": "jiritsu", "reason": "支援会議で決定",
        "method": "formal_request", "exception": "support_meeting", "meeting_id": meeting_id})
    assert "meeting_id" in assert_problem(outside, 422)["errors"]  # jiritsu is no member
    member = record_meeting(api.as_(tokens["supervisor"]), made["case_id"], ["jiritsu"])
    body = refer(api, made["case_id"], "jiritsu", exception="support_meeting",
                 meeting_id=member)
    run_due(session, app.config["CASEAPP"],
            Gateways(RecordingWebhookGateway(), RecordingMailGateway()))
    session.expire_all()
    referral = session.get(Referral, body["id"])
    assert referral.status == "sent" and referral.legal_basis == f"support_meeting:{member}"
    (disclosure,) = session.scalars(select(Disclosure).where(
        Disclosure.referral_id == referral.id)).all()
    assert disclosure.basis == f"support_meeting:{member}"


def test_a_manual_life_safety_referral_needs_a_written_reason(api):
    made = intake(api, NO_CONSENT)
    refused = api.post("/api/v1/referrals", json={
        "case_id": made["case_id"], "partner": "hokenjo", "reason": "緊急",
        "method": "accompany", "exception": "life_safety"})
    assert "exception_reason" in assert_problem(refused, 422)["errors"]


@pytest.mark.parametrize(("change", "field"), [
    ({"case_id": 9999}, "case_id"),
    ({"partner": "nobody"}, "partner"),
    ({"method": "telepathy"}, "method"),
    ({"reason": ""}, "reason"),
    ({"exception": "because"}, "exception"),
    ({"urgency": "whenever"}, "urgency"),
    ({"consultation_id": 9999}, "consultation_id"),
    ({"status": "completed"}, "status"),
])
def test_bad_manual_referrals_are_422_per_field(api, session, change, field):
    made = intake(api)
    body = {"case_id": made["case_id"], "partner": "jiritsu", "reason": "x",
            "method": "info_only", **change}
    assert field in assert_problem(api.post("/api/v1/referrals", json=body), 422)["errors"]
    assert session.scalar(select(Referral).where(Referral.rule_id == "manual")) is None


def test_an_inactive_partner_or_a_closed_case_cannot_be_referred_to(api, session):
    made = intake(api)
    session.scalar(select(Partner).where(Partner.code == "keicho")).active = False
    session.get(Case, made["case_id"]).status = "closed"
    session.commit()
    body = {"case_id": made["case_id"], "partner": "keicho", "reason": "x", "method": "info_only"}
    assert "partner" in assert_problem(api.post("/api/v1/referrals", json=body), 422)["errors"]
    problem = assert_problem(api.post("/api/v1/referrals", json={**body, "partner": "minsei"}),
                             409)
    assert problem["case_status"] == "closed"


def test_a_second_open_referral_to_the_same_partner_is_a_conflict(api):
    made = intake(api)
    problem = assert_problem(api.post("/api/v1/referrals", json={
        "case_id": made["case_id"], "partner": "houkatsu", "reason": "再送",
        "method": "info_only"}), 409)
    assert problem["referral_id"] == referral_id(made, "houkatsu")


# -- cancel --------------------------------------------------------------------------------

def test_staff_cancel_with_a_reason_and_pending_deliveries_are_dropped(api, session, tokens):
    made = intake(api)
    rid = referral_id(made, "houkatsu")
    assert "reason" in assert_problem(api.post(f"/api/v1/referrals/{rid}/cancel", json={}),
                                      422)["errors"]
    response = api.post(f"/api/v1/referrals/{rid}/cancel", json={"reason": "本人が辞退"})
    assert response.status_code == 200, response.json
    assert response.json["status"] == "cancelled"
    assert response.json["status_reason"] == "本人が辞退"
    session.expire_all()
    referral = session.get(Referral, rid)
    assert [d.state for d in referral.deliveries] == ["cancelled"]
    assert (referral.history[-1].actor_label, referral.history[-1].note) == (
        "counter-1", "本人が辞退")
    others = session.scalars(select(Delivery).where(Delivery.referral_id != rid))
    assert {d.state for d in others} == {"pending"}
    # The partner sees it ended, and cannot move it.
    houkatsu = api.as_(tokens["partner:houkatsu"])
    view = houkatsu.get(f"/api/v1/partner/referrals/{rid}").json
    assert view["status"] == "cancelled" and view["next_statuses"] == []
    assert "本人が辞退" not in str(view)
    assert assert_problem(move(houkatsu, rid, "received"), 409)["allowed"] == []
    again = assert_problem(api.post(f"/api/v1/referrals/{rid}/cancel", json={"reason": "x"}),
                           409)
    assert again["current_status"] == "cancelled"


def test_a_completed_referral_cannot_be_cancelled(api, tokens):
    rid = one_each(api)["houkatsu"]
    walk(api.as_(tokens["partner:houkatsu"]), rid, "received", "accepted", "completed")
    problem = assert_problem(api.post(f"/api/v1/referrals/{rid}/cancel",
                                      json={"reason": "x"}), 409)
    assert problem["allowed"] == [] and problem["current_status"] == "completed"
    assert_problem(api.post("/api/v1/referrals/99999/cancel", json={"reason": "x"}), 404)


# -- lost cases: rejected and failed referrals go back to the owner ------------------------

def test_a_rejected_referral_puts_the_case_back_until_it_is_rerouted(api, tokens):
    made = intake(api)
    case_id = made["case_id"]
    assert _lost(api) == []
    walk(api.as_(tokens["partner:houkatsu"]), referral_id(made, "houkatsu"),
         "received", "rejected")
    assert _lost(api) == [case_id]
    rejected = api.get("/api/v1/referrals", query_string={"status": "rejected"}).json["items"]
    assert rejected[0]["status_reason"] == "対象外です"
    refer(api, case_id, "jiritsu", reason="包括で対象外のため自立相談へ")
    assert _lost(api) == []


def test_a_rejected_referral_can_be_marked_handled_by_its_owner(api, tokens, session):
    made = intake(api)
    rid = referral_id(made, "houkatsu")
    assert_problem(api.post(f"/api/v1/referrals/{rid}/handled", json={"note": "x"}), 409)
    walk(api.as_(tokens["partner:houkatsu"]), rid, "received", "rejected")
    other = api.as_(tokens["supervisor"])
    owner = session.get(Case, made["case_id"]).owner_id
    assert owner == session.scalar(select(User.id).where(User.name == "counter-1"))
    assert "note" in assert_problem(api.post(f"/api/v1/referrals/{rid}/handled", json={}),
                                    422)["errors"]
    # Another counter is not the owner.
    from caseapp.services.core import auth

    _user, stranger = auth.create_user(session, "counter-2", "counter")
    assert_problem(api.as_(stranger).post(f"/api/v1/referrals/{rid}/handled",
                                          json={"note": "x"}), 403)
    assert _lost(api) == [made["case_id"]]
    done = api.post(f"/api/v1/referrals/{rid}/handled", json={"note": "本人が別機関に自分で相談"})
    assert done.status_code == 200 and done.json["handled_note"] == "本人が別機関に自分で相談"
    assert _lost(api) == []
    assert_problem(other.post(f"/api/v1/referrals/{rid}/handled", json={"note": "x"}), 409)


def test_a_supervisor_may_mark_handled_for_an_absent_owner(api, tokens):
    made = intake(api)
    rid = referral_id(made, "houkatsu")
    walk(api.as_(tokens["partner:houkatsu"]), rid, "received", "rejected")
    response = api.as_(tokens["supervisor"]).post(f"/api/v1/referrals/{rid}/handled",
                                                  json={"note": "担当不在のため代行"})
    assert response.status_code == 200 and _lost(api) == []


def test_a_failed_referral_is_lost_until_rerouted_and_older_referrals_do_not_count(
        api, session):
    made = intake(api)
    referral = session.get(Referral, referral_id(made, "shihoshoshi"))
    lifecycle.move(referral, "failed", SYSTEM, note="all delivery channels exhausted")
    session.commit()
    # Referrals made before the failure are not a re-routing of it.
    assert _lost(api) == [made["case_id"]]
    refer(api, made["case_id"], "bengoshi")
    assert _lost(api) == []


def test_a_closed_case_with_a_rejection_is_not_lost(api, tokens, session):
    made = intake(api)
    walk(api.as_(tokens["partner:houkatsu"]), referral_id(made, "houkatsu"),
         "received", "rejected")
    session.get(Case, made["case_id"]).status = "closed"
    session.commit()
    assert _lost(api) == []


def test_a_handled_failure_that_fails_again_is_lost_again(api, session, tokens):
    made = intake(api)
    rid = referral_id(made, "shihoshoshi")
    referral = session.get(Referral, rid)
    lifecycle.move(referral, "failed", SYSTEM)
    session.commit()
    assert api.post(f"/api/v1/referrals/{rid}/handled",
                    json={"note": "電話で直接つないだ"}).status_code == 200
    assert _lost(api) == []
    session.expire_all()
    referral = session.get(Referral, rid)
    lifecycle.move(referral, "requested", SYSTEM, note="retry")  # what /retry does
    lifecycle.move(referral, "failed", SYSTEM)
    session.commit()
    assert _lost(api) == [made["case_id"]]
    assert api.post(f"/api/v1/referrals/{rid}/handled", json={"note": "再度"}).status_code == 200
