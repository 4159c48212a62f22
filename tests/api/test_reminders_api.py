"""Reminders through the API, on a pinned Monday morning: due dates count business days."""

from datetime import datetime, timedelta

import pytest
import time_machine
from sqlalchemy import select

from caseapp.models import AuditEntry, Partner, Referral
from caseapp.models.types import utcnow
from caseapp.rules.calendar import TOKYO
from caseapp.services.casework import reminders
from caseapp.services.core.actors import SYSTEM, Actor
from caseapp.services.referrals import lifecycle
from tests.helpers import EXAMPLE, assert_problem

pytestmark = pytest.mark.calendar


@pytest.fixture(autouse=True)
def monday_morning():
    """Autouse, so it starts before the intake fixtures do."""
    with time_machine.travel(datetime(2026, 11, 30, 10, 0, tzinfo=TOKYO)):
        yield


def intake(api, session):
    created = api.post("/api/v1/consultations", json=EXAMPLE)
    assert created.status_code == 201, created.json
    referral_ids = [r["id"] for r in created.json["referrals"]]
    return created.json["case_id"], [session.get(Referral, i) for i in referral_ids]


def partner(session, referral):
    return Actor(user_id=None, name="partner", role="partner", partner_id=referral.partner_id)


def test_staff_see_due_sent_and_withdrawn_reminders(api, session):
    case_id, (first, second, *_) = intake(api, session)
    for referral in (first, second):
        lifecycle.move(referral, "sent", SYSTEM)
    session.commit()
    lifecycle.move(second, "received", partner(session, second))
    session.commit()
    reminders.sweep(session, utcnow() + timedelta(days=30))

    listed = api.get("/api/v1/reminders", query_string={"case_id": case_id, "per_page": 200})
    assert listed.status_code == 200, listed.json
    by_key = {(r["kind"], r["referral_id"], r["seq"]): r for r in listed.json["items"]}
    sent = by_key[("partner_ack", first.id, 1)]
    assert sent["status"] == "sent" and sent["sent_at"] and sent["due_at"]
    assert sent["case_id"] == case_id and sent["partner"] == first.partner.code
    assert sent["deliveries"] == [{"channel": "inbox", "state": "pending"}]
    assert sent["notice_state"] is None
    withdrawn = by_key[("partner_ack", second.id, 1)]
    assert withdrawn["status"] == "withdrawn" and withdrawn["sent_at"] is None
    assert withdrawn["withdrawn_reason"] == "referral is received"
    assert by_key[("partner_ack", first.id, 2)]["status"] == "due"
    # The case's own next action (set by intake) is watched too, and was overdue by then.
    assert by_key[("case_next_action", None, 1)]["status"] == "sent"
    assert by_key[("case_next_action", None, 1)]["notice_state"] == "no_recipient"
    assert listed.json["total"] == len(listed.json["items"])

    due = api.get("/api/v1/reminders", query_string={"status": "due", "kind": "partner_ack"})
    assert [(r["referral_id"], r["seq"]) for r in due.json["items"]] == [(first.id, 2)]
    only = api.get("/api/v1/reminders", query_string={"referral_id": second.id}).json
    assert {r["referral_id"] for r in only["items"]} == {second.id}
    # Acknowledged: the ack reminder was withdrawn; the wait for a decision was chased instead.
    assert {(r["kind"], r["seq"], r["status"]) for r in only["items"]} == {
        ("partner_ack", 1, "withdrawn"), ("partner_progress", 1, "sent"),
        ("partner_progress", 2, "due")}
    audit = session.scalars(select(AuditEntry).where(AuditEntry.resource_type == "reminder"))
    assert [a.action for a in audit] == ["list", "list", "list"]


def test_mine_shows_reminders_on_the_callers_cases(api, session, tokens):
    case_id, _ = intake(api, session)
    mine = api.get("/api/v1/reminders", query_string={"mine": "true"}).json
    assert [r["case_id"] for r in mine["items"]] == [case_id]
    theirs = api.as_(tokens["supervisor"]).get("/api/v1/reminders",
                                               query_string={"mine": "true"}).json
    assert theirs["items"] == [] and theirs["total"] == 0


def test_reminders_are_for_staff_only(api, anon, tokens):
    assert_problem(anon.get("/api/v1/reminders"), 401)
    assert_problem(api.as_(tokens["partner:houkatsu"]).get("/api/v1/reminders"), 403)


def test_bad_filters_are_named(api):
    problem = assert_problem(api.get("/api/v1/reminders",
                                     query_string={"status": "lost", "kind": "nag",
                                                   "case_id": "x", "per_page": 0}), 422)
    assert {"status", "kind", "case_id", "per_page"} <= set(problem["errors"])


def test_a_dead_end_referral_makes_the_case_lost_until_it_is_rerouted(api, session):
    case_id, (first, *_) = intake(api, session)
    lost = lambda: [c["id"] for c in api.get("/api/v1/cases",  # noqa: E731
                                             query_string={"lost": "true"}).json["items"]]
    assert lost() == []
    lifecycle.move(first, "sent", SYSTEM)
    lifecycle.move(first, "rejected", partner(session, first), note="対象外です")
    session.commit()
    assert lost() == [case_id]

    # A new referral that is itself cancelled does not count as re-routing.
    jiritsu = session.scalar(select(Partner).where(Partner.code == "jiritsu"))
    actor = Actor(user_id=None, name="counter-1", role="counter")
    cancelled = lifecycle.create(session, actor, case=first.case, partner=jiritsu,
                                 reason="再調整", method="intro_letter", urgency="normal",
                                 basis="consent")
    session.flush()
    lifecycle.move(cancelled, "cancelled", actor)
    session.commit()
    assert lost() == [case_id]

    lifecycle.create(session, actor, case=first.case, partner=jiritsu, reason="つなぎ直し",
                     method="intro_letter", urgency="normal", basis="consent")
    session.commit()
    assert lost() == []


def test_a_failed_referral_makes_the_case_lost(api, session):
    case_id, (first, *_) = intake(api, session)
    lifecycle.move(first, "failed", SYSTEM, note="all delivery channels exhausted")
    session.commit()
    assert [c["id"] for c in api.get("/api/v1/cases",
                                     query_string={"lost": "true"}).json["items"]] == [case_id]
