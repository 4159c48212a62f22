"""The referral workflow table: who may move which status where."""

import pytest

from caseapp.domain import workflow
from caseapp.models.referrals import OPEN_STATUSES, STATUSES


def test_the_table_covers_every_status_and_names_only_known_ones():
    assert set(workflow.TRANSITIONS) == set(STATUSES)
    for targets in workflow.TRANSITIONS.values():
        assert set(targets) <= set(STATUSES)
    assert {"rejected", "completed", "cancelled"} == workflow.TERMINAL


@pytest.mark.parametrize(("current", "new"), [
    ("requested", "received"), ("sent", "received"), ("received", "accepted"),
    ("received", "rejected"), ("accepted", "in_progress"), ("accepted", "completed"),
    ("in_progress", "completed"), ("sent", "rejected"), ("requested", "rejected"),
])
def test_a_partner_may_make_the_partner_steps(current, new):
    assert workflow.check(current, new, "partner").ok


@pytest.mark.parametrize("current", [*OPEN_STATUSES, "failed"])
def test_staff_may_cancel_at_any_open_point_and_a_partner_never(current):
    for role in ("counter", "supervisor", "admin"):
        assert workflow.check(current, "cancelled", role).ok
    refused = workflow.check(current, "cancelled", "partner")
    assert not refused.ok and "cancelled" not in refused.allowed


@pytest.mark.parametrize(("current", "new"), [
    ("received", "accepted"), ("accepted", "completed"), ("sent", "received"),
])
def test_staff_cannot_answer_for_the_partner(current, new):
    decision = workflow.check(current, new, "counter")
    assert not decision.ok and "staff" in decision.reason


@pytest.mark.parametrize("status", ["rejected", "completed", "cancelled"])
def test_nothing_moves_out_of_a_final_status(status):
    for new in STATUSES:
        for role in ("partner", "counter", "system"):
            assert not workflow.check(status, new, role).ok
    assert workflow.allowed_next(status, "partner") == []


def test_a_refusal_names_the_allowed_next_steps():
    decision = workflow.check("received", "completed", "partner")
    assert not decision.ok
    assert decision.allowed == ("accepted", "rejected")
    assert "accepted, rejected" in decision.reason
    assert workflow.check("sent", "accepted", "partner").allowed == ("received", "rejected")


def test_a_partner_cannot_skip_acknowledging_or_release_a_referral():
    assert not workflow.check("sent", "accepted", "partner").ok
    assert not workflow.check("awaiting_consent", "requested", "partner").ok
    assert not workflow.check("requested", "sent", "partner").ok


def test_outcomes_and_requirements():
    assert workflow.REQUIRED == {"rejected": "reason", "cancelled": "reason",
                                 "completed": "outcome"}
    assert set(workflow.OUTCOMES) == {"got_help", "not_eligible", "couldnt_contact",
                                      "no_capacity", "declined_by_client", "referred_elsewhere"}


def test_a_partner_may_decline_from_its_inbox_with_a_reason():
    assert workflow.check("sent", "rejected", "partner").ok
    assert workflow.REQUIRED["rejected"] == "reason"
    assert not workflow.check("sent", "rejected", "counter").ok
