"""The §29 disclosure log names exactly the personal items the partner was shown, for every basis.

What was shown is read off the answer or body the partner received, independently of the code
under test: every item carrying a value, minus the workflow fields that say nothing about a person.
"""

import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from caseapp.models import AuditEntry, Consent, Disclosure, Referral
from tests.api.loop_helpers import intake, referral_id
from tests.helpers import EXAMPLE
from tests.services.delivery.helpers import hook, recording, run_due

PERSON = {"name": "髙橋 花子", "name_kana": "タカハシ ハナコ", "birth_date": "1950-03-04",
          "phone": "088-123-4567", "postal_code": "783-0001", "address": "南国市大埇甲1",
          "district": "岡豊地区"}
# Fields of the partner views that describe the referral's workflow, not the person.
WORKFLOW = {"id", "status", "method", "urgency", "referred_at", "status_at", "ack_due_at",
            "next_statuses", "basis", "withheld", "outcome", "outcome_note", "rejection_reason",
            "history"}


def items_with_values(view: dict, prefix: str = "") -> set[str]:
    found = set()
    for key, value in view.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict):
            found |= items_with_values(value, f"{path}.")
        elif value not in (None, "", []):
            found.add(path)
    return found


def personal(view: dict) -> set[str]:
    return {p for p in items_with_values(view) if p.split(".")[0] not in WORKFLOW}


def consent(api, _tokens=None):
    return "houkatsu", referral_id(intake(api, {**EXAMPLE, "client": PERSON}), "houkatsu")


def consent_withdrawn(api, _tokens=None):
    return consent(api)


def life_safety(api, _tokens=None):
    made = intake(api, {"client": {"name": "緊急 一郎", "phone": "090-0000-1111"},
                        "channel": "window", "topics": ["no_food"],
                        "summary": "今日食べる物がない", "urgency": "emergency"})
    return "jiritsu", referral_id(made, "jiritsu")


def support_meeting(api, tokens):
    body = {k: v for k, v in EXAMPLE.items() if k != "consent"}
    made = intake(api, {**body, "client": PERSON})
    recorded = api.as_(tokens["supervisor"]).post(
        f"/api/v1/cases/{made['case_id']}/support-meeting",
        json={"law": "seikatsu_konkyu_9", "meeting_date": "2026-11-20",
              "partners": ["houkatsu"]})
    assert recorded.status_code == 201, recorded.json
    return "houkatsu", referral_id(made, "houkatsu")


def anonymous(api, _tokens=None):
    return "jiritsu", referral_id(intake(api, {"channel": "event",
                                               "summary": "誰にも言えない悩みがある"}), "jiritsu")


BASES = [consent, consent_withdrawn, life_safety, support_meeting, anonymous]


def last(session, action: str) -> AuditEntry:
    session.expire_all()
    return session.scalars(select(AuditEntry).where(
        AuditEntry.action == action, AuditEntry.resource_type == "referral")
        .order_by(AuditEntry.id.desc())).first()


@pytest.mark.parametrize("basis", BASES, ids=lambda f: f.__name__)
def test_inbox_delivery_and_every_read_log_what_the_partner_sees(api, tokens, session, app,
                                                                 basis):
    code, rid = basis(api, tokens)
    run_due(session, app.config["CASEAPP"])
    partner = api.as_(tokens[f"partner:{code}"])
    referral = session.get(Referral, rid)
    (delivery,) = referral.deliveries
    assert delivery.channel == "inbox" and delivery.state == "delivered"
    delivered = session.scalar(select(Disclosure).where(Disclosure.delivery_id == delivery.id))

    if basis is consent_withdrawn:
        for row in session.scalars(select(Consent)):
            row.withdrawn_at = datetime.now(UTC) - timedelta(seconds=1)
        session.commit()
    detail = partner.get(f"/api/v1/partner/referrals/{rid}").json
    assert sorted(last(session, "read").detail["items"]) == sorted(personal(detail))
    if basis is not consent_withdrawn:
        # What the inbox delivery logged is what the partner then reads.
        assert sorted(delivered.fields) == sorted(personal(detail))
    assert "client.birth_date" not in delivered.fields

    listed = partner.get("/api/v1/partner/referrals").json["items"]
    shown = set().union(*(personal(item) for item in listed))
    assert sorted(last(session, "list").detail["items"]) == sorted(shown)


# What a webhook body adds around the partner's view: where to read it, nothing personal.
ENVELOPE = {"referral_id", "partner", "inbox_url", "created_at"}


@pytest.mark.parametrize("basis", BASES, ids=lambda f: f.__name__)
def test_a_webhook_carries_and_logs_what_the_inbox_shows_for_its_basis(api, tokens, session,
                                                                       app, basis):
    for code in ("houkatsu", "jiritsu"):
        hook(session, code, f"https://{code}.example/hook")
    recorder = recording()
    code, rid = basis(api, tokens)
    run_due(session, app.config["CASEAPP"], recorder)
    (sent,) = [r for r in recorder.webhook.sent
               if json.loads(r.body)["data"]["referral_id"] == rid]
    data = json.loads(sent.body)["data"]
    (delivery,) = session.get(Referral, rid).deliveries
    logged = session.scalar(select(Disclosure).where(Disclosure.delivery_id == delivery.id))
    carried = {p for p in personal(data) if p.split(".")[0] not in ENVELOPE}
    assert sorted(logged.fields) == sorted(carried)
    # Never more than the basis lets the partner see in its inbox.
    detail = api.as_(tokens[f"partner:{code}"]).get(f"/api/v1/partner/referrals/{rid}").json
    assert carried == personal(detail)
    assert logged.basis.split(":")[0] == detail["basis"] == data["basis"]
    for never in ("birth_date", "district", "case_id"):
        assert never not in sent.body.decode()
    assert data["client"] is None or set(data["client"]) == {"name", "name_kana"}
