"""The partner's side: its whole workflow with a token, and only the fields it needs."""

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from caseapp.domain import partner_view
from caseapp.models import AuditEntry, Consent, Referral
from caseapp.services.core.actors import SYSTEM
from caseapp.services.referrals import lifecycle
from tests.api.loop_helpers import intake, move, one_each, refer, referral_id, walk
from tests.helpers import EXAMPLE, assert_problem

DOC = Path(__file__).resolve().parents[2] / "docs" / "partner-view.md"

FULL_CLIENT = {"name": "髙橋 花子", "name_kana": "タカハシ ハナコ", "birth_date": "1950-03-04",
               "sex": "female", "phone": "088-123-4567", "postal_code": "783-0001",
               "address": "南国市大埇甲1", "district": "岡豊地区", "small_area": "一区"}
EMERGENCY = {"client": {"name": "緊急 一郎", "phone": "090-0000-1111"}, "channel": "window",
             "topics": ["no_food"], "summary": "今日食べる物がない", "urgency": "emergency"}


@pytest.fixture
def houkatsu(api, tokens):
    return api.as_(tokens["partner:houkatsu"])


def test_a_partner_runs_its_whole_side_and_staff_see_the_outcome(api, houkatsu):
    rid = one_each(api)["houkatsu"]
    assert houkatsu.get(f"/api/v1/partner/referrals/{rid}").json["next_statuses"] == [
        "received", "rejected"]
    walk(houkatsu, rid, "received", "accepted", "in_progress")
    done = move(houkatsu, rid, "completed", outcome="got_help", note="介護保険の申請を支援")
    assert done.status_code == 200, done.json
    body = done.json
    assert body["status"] == "completed" and body["outcome"] == "got_help"
    assert body["outcome_note"] == "介護保険の申請を支援" and body["next_statuses"] == []
    steps = [(h["from_status"], h["status"], h["by"]) for h in body["history"]]
    assert steps == [(None, "requested", "counter"), ("requested", "received", "partner"),
                     ("received", "accepted", "partner"), ("accepted", "in_progress", "partner"),
                     ("in_progress", "completed", "partner")]
    assert body["history"][-1]["note"] == "介護保険の申請を支援"
    assert all(h["at"] for h in body["history"])
    staff = api.get("/api/v1/referrals", query_string={"partner": "houkatsu"}).json["items"]
    assert [(r["id"], r["status"], r["outcome"], r["outcome_note"]) for r in staff] == [
        (rid, "completed", "got_help", "介護保険の申請を支援")]
    assert staff[0]["ack_due_at"] is None and staff[0]["overdue"] is False


def test_history_records_the_actor_time_and_note_of_every_change(api, houkatsu, session):
    rid = one_each(api)["houkatsu"]
    walk(houkatsu, rid, "received")
    move(houkatsu, rid, "rejected", reason="対象地域外です", note="高知市の包括へ")
    session.expire_all()
    events = session.get(Referral, rid).history
    assert [(e.to_status, e.actor_label) for e in events] == [
        ("requested", "counter-1"), ("received", "partner:houkatsu"),
        ("rejected", "partner:houkatsu")]
    assert events[-1].note == "対象地域外です\n高知市の包括へ"
    assert events[-1].at >= events[-2].at >= events[0].at


@pytest.mark.parametrize(("setup", "attempt", "allowed"), [
    ((), "accepted", ["received", "rejected"]),
    (("received",), "completed", ["accepted", "rejected"]),
    (("received", "accepted"), "received", ["in_progress", "completed"]),
    (("received", "rejected"), "accepted", []),
    ((), "cancelled", ["received", "rejected"]),
    ((), "sent", ["received", "rejected"]),
])
def test_a_step_the_workflow_does_not_allow_is_409_naming_the_allowed_ones(
        api, houkatsu, session, setup, attempt, allowed):
    rid = one_each(api)["houkatsu"]
    walk(houkatsu, rid, *setup)
    extra = {"outcome": "got_help"} if attempt == "completed" else {}
    if attempt == "cancelled":
        extra = {"reason": "やめます"}
    problem = assert_problem(move(houkatsu, rid, attempt, **extra), 409)
    assert problem["allowed"] == allowed
    assert problem["current_status"] == (setup[-1] if setup else "requested")
    session.expire_all()
    assert session.get(Referral, rid).status == problem["current_status"]
    refused = session.scalar(select(AuditEntry).where(AuditEntry.outcome == "refused"))
    assert refused.resource_id == str(rid) and refused.actor_label == "partner:houkatsu"


def test_a_status_move_also_checks_concurrent_changes(api, tokens, session):
    """Two moves from the same status: the second finds it gone and is told so."""
    from caseapp.services.core.actors import Actor
    from caseapp.services.core.errors import Conflict
    from caseapp.services.referrals import loop

    rid = one_each(api)["houkatsu"]
    referral = session.get(Referral, rid)
    session.execute(Referral.__table__.update().where(Referral.id == rid)
                    .values(status="received"))  # someone else, behind the ORM's back
    session.commit()
    actor = Actor(user_id=None, name="partner:houkatsu", role="partner",
                  partner_id=referral.partner_id)
    with pytest.raises(Conflict) as caught:
        loop.transition(session, referral, "received", actor)
    assert caught.value.extra["current_status"] == "received"
    assert caught.value.extra["allowed"] == ["accepted", "rejected"]


@pytest.mark.parametrize(("body", "field"), [
    ({"status": "rejected"}, "reason"),
    ({"status": "rejected", "reason": ""}, "reason"),
    ({"status": "completed"}, "outcome"),
    ({"status": "completed", "outcome": "fine"}, "outcome"),
    ({"status": "accepted", "outcome": "got_help"}, "outcome"),
    ({"status": "accepted", "reason": "x"}, "reason"),
    ({"status": "banana"}, "status"),
    ({}, "status"),
    ({"status": "received", "note": "x" * 2001}, "note"),
    ({"status": "received", "case_id": 3}, "case_id"),
])
def test_bad_status_bodies_are_422_per_field(api, houkatsu, session, body, field):
    rid = one_each(api)["houkatsu"]
    walk(houkatsu, rid, "received")
    problem = assert_problem(houkatsu.post(f"/api/v1/partner/referrals/{rid}/status",
                                           json=body), 422)
    assert field in problem["errors"]
    session.expire_all()
    assert session.get(Referral, rid).status == "received"


def test_a_rejection_carries_its_reason_to_the_partner_view_and_to_staff(api, houkatsu):
    rid = one_each(api)["houkatsu"]
    walk(houkatsu, rid, "received")
    body = move(houkatsu, rid, "rejected", reason="65歳未満のため対象外").json
    assert body["rejection_reason"] == "65歳未満のため対象外"
    staff = api.get("/api/v1/referrals", query_string={"status": "rejected"}).json["items"]
    assert staff[0]["status_reason"] == "65歳未満のため対象外"


def test_the_partner_views_hold_exactly_the_documented_fields(api, houkatsu):
    rid = one_each(api)["houkatsu"]
    detail = houkatsu.get(f"/api/v1/partner/referrals/{rid}").json
    item = houkatsu.get("/api/v1/partner/referrals").json["items"][0]
    assert set(detail) == set(partner_view.DETAIL_FIELDS)
    assert set(item) == set(partner_view.LIST_FIELDS)
    assert set(detail["client"]) == set(partner_view.CLIENT_FIELDS)
    assert set(detail["contact"]) == set(partner_view.CONTACT_FIELDS)
    assert set(detail["history"][0]) == set(partner_view.HISTORY_FIELDS)
    documented = set(re.findall(r"^\| `([a-z_.]+)`", DOC.read_text("utf-8"), re.MULTILINE))
    expected = ({*partner_view.DETAIL_FIELDS}
                | {f"client.{f}" for f in partner_view.CLIENT_FIELDS}
                | {f"contact.{f}" for f in partner_view.CONTACT_FIELDS}
                | {f"history.{f}" for f in partner_view.HISTORY_FIELDS})
    assert documented == expected


def test_nothing_else_leaks_to_a_partner(api, houkatsu, session):
    body = {**EXAMPLE, "client": FULL_CLIENT,
            "facts": {**EXAMPLE["facts"], "monthly_income": 91234,
                      "debts": [{"creditor": "サラ金丙", "principal": 800000}]}}
    made = intake(api, body)
    rid = referral_id(made, "houkatsu")
    api.post(f"/api/v1/referrals/{referral_id(made, 'houterasu')}/cancel",
             json={"reason": "内部メモ：本人と再調整"})
    walk(houkatsu, rid, "received")
    seen = json.dumps([houkatsu.get(f"/api/v1/partner/referrals/{rid}").json,
                       houkatsu.get("/api/v1/partner/referrals").json], ensure_ascii=False)
    assert "髙橋 花子" in seen and "0881234567" in seen  # consented: name and contact
    for secret in ("1950-03-04", "female", "岡豊", "一区", "91234", "サラ金丙", "800000",
                   "counter-1", "consent:", "legal_basis", "case_id", "consultation_id",
                   "houterasu", "shihoshoshi", "内部メモ", "rule_id", "elderly",
                   "audit", "facts", "client_id", "owner", "deliveries"):
        assert secret not in seen, secret


def test_contact_and_summary_need_a_consent_under_the_life_and_safety_basis(api, tokens):
    made = intake(api, EMERGENCY)
    rid = referral_id(made, "jiritsu")
    view = api.as_(tokens["partner:jiritsu"]).get(f"/api/v1/partner/referrals/{rid}").json
    assert view["basis"] == "life_safety"
    assert view["client"] == {"name": "緊急 一郎", "name_kana": None}
    assert view["contact"] is None and view["summary"] is None
    assert view["withheld"] == ["contact", "summary"]
    assert view["urgency"] == "emergency" and view["topics"] == ["no_food"]


def test_a_withdrawn_consent_stops_further_disclosure_but_the_loop_stays_open(
        api, houkatsu, session):
    made = intake(api, {**EXAMPLE, "client": FULL_CLIENT})
    rid = referral_id(made, "houkatsu")
    assert houkatsu.get(f"/api/v1/partner/referrals/{rid}").json["client"]["name"] == "髙橋 花子"
    consent = session.scalar(select(Consent))
    consent.withdrawn_at = datetime.now(UTC) - timedelta(seconds=1)
    session.commit()
    view = houkatsu.get(f"/api/v1/partner/referrals/{rid}").json
    assert view["client"] is None and view["contact"] is None and view["summary"] is None
    assert view["withheld"] == ["client", "contact", "summary"]
    assert "髙橋" not in json.dumps(houkatsu.get("/api/v1/partner/referrals").json,
                                   ensure_ascii=False)
    assert walk(houkatsu, rid, "received", "accepted")["status"] == "accepted"


def test_an_anonymous_consultation_shows_its_summary_and_no_person(api, tokens):
    made = intake(api, {"channel": "event", "summary": "誰にも言えない悩みがある"})
    rid = referral_id(made, "jiritsu")
    view = api.as_(tokens["partner:jiritsu"]).get(f"/api/v1/partner/referrals/{rid}").json
    assert view["basis"] == "anonymous" and view["client"] is None
    assert view["summary"] == "誰にも言えない悩みがある" and view["withheld"] == []


def test_a_support_meeting_referral_shows_name_and_summary_not_contact(api, tokens):
    body = {k: v for k, v in EXAMPLE.items() if k != "consent"}
    made = intake(api, {**body, "client": FULL_CLIENT})
    meeting = api.as_(tokens["supervisor"]).post(
        f"/api/v1/cases/{made['case_id']}/support-meeting",
        json={"law": "seikatsu_konkyu_9", "meeting_date": "2026-11-20", "partners": ["jiritsu"]})
    rid = refer(api, made["case_id"], "jiritsu", exception="support_meeting",
                meeting_id=meeting.json["id"])["id"]
    view = api.as_(tokens["partner:jiritsu"]).get(f"/api/v1/partner/referrals/{rid}").json
    assert view["basis"] == "support_meeting" and view["client"]["name"] == "髙橋 花子"
    assert view["summary"] == EXAMPLE["summary"] and view["contact"] is None


def test_every_partner_read_is_logged_with_the_items_disclosed(api, houkatsu, session):
    made = intake(api, {**EXAMPLE, "client": FULL_CLIENT})
    rid = referral_id(made, "houkatsu")
    houkatsu.get(f"/api/v1/partner/referrals/{rid}")
    houkatsu.get("/api/v1/partner/referrals")
    read = session.scalar(select(AuditEntry).where(AuditEntry.action == "read",
                                                   AuditEntry.resource_type == "referral"))
    assert read.actor_label == "partner:houkatsu" and read.purpose == "partner_inbox"
    assert read.detail["basis"].startswith("consent:")
    assert {"client.name", "contact.phone", "contact.address", "summary"} <= set(
        read.detail["items"])
    listed = session.scalar(select(AuditEntry).where(AuditEntry.action == "list",
                                                     AuditEntry.resource_type == "referral"))
    assert listed.detail["results"] == [rid] and "contact.phone" not in listed.detail["items"]


def test_history_tells_counter_partner_and_system_apart_without_staff_names_or_notes(
        api, houkatsu, session):
    rid = one_each(api)["houkatsu"]
    referral = session.get(Referral, rid)
    lifecycle.move(referral, "sent", SYSTEM, note="delivered via inbox")
    session.commit()
    history = walk(houkatsu, rid, "received")["history"]
    assert [(h["status"], h["by"], h["note"]) for h in history] == [
        ("requested", "counter", None), ("sent", "system", None),
        ("received", "partner", None)]


def test_the_list_filters_by_status_and_time_and_pages(api, houkatsu):
    first = referral_id(intake(api), "houkatsu")
    second = referral_id(intake(api, {**EXAMPLE, "client": FULL_CLIENT}), "houkatsu")
    third = referral_id(intake(api, {**EXAMPLE, "client": {"name": "三人目"}}), "houkatsu")
    walk(houkatsu, second, "received")
    got = houkatsu.get("/api/v1/partner/referrals", query_string={"status": "received"}).json
    assert [r["id"] for r in got["items"]] == [second]
    both = houkatsu.get("/api/v1/partner/referrals?status=received&status=requested").json
    assert [r["id"] for r in both["items"]] == [third, second, first]
    page = houkatsu.get("/api/v1/partner/referrals", query_string={"per_page": 1, "page": 2}).json
    assert [r["id"] for r in page["items"]] == [second] and page["total"] == 3
    later = datetime.now(UTC) + timedelta(minutes=5)
    assert houkatsu.get("/api/v1/partner/referrals",
                        query_string={"updated_since": later.isoformat()}).json["items"] == []
    assert_problem(houkatsu.get("/api/v1/partner/referrals",
                                query_string={"updated_since": "2026-11-27T10:00"}), 422)
    assert_problem(houkatsu.get("/api/v1/partner/referrals",
                                query_string={"per_page": 1000}), 422)


def test_a_partner_declines_straight_from_its_inbox_with_a_reason(api, houkatsu, session):
    rid = one_each(api)["houkatsu"]
    session.execute(Referral.__table__.update().where(Referral.id == rid).values(status="sent"))
    session.commit()
    assert "rejected" in houkatsu.get(f"/api/v1/partner/referrals/{rid}").json["next_statuses"]
    assert "reason" in assert_problem(move(houkatsu, rid, "rejected"), 422)["errors"]
    declined = move(houkatsu, rid, "rejected", reason="当センターの対象外です")
    assert declined.status_code == 200, declined.json
    assert declined.json["status"] == "rejected"
    assert declined.json["rejection_reason"] == "当センターの対象外です"
    session.expire_all()
    referral = session.get(Referral, rid)
    # Nothing more is sent for it, and it goes back to the case owner to re-route.
    assert {d.state for d in referral.deliveries} <= {"cancelled", "delivered"}
    lost = api.get("/api/v1/cases", query_string={"lost": "true"}).json["items"]
    assert referral.case_id in [c["id"] for c in lost]
