"""The consent gate: without a legal basis nothing leaves; recording one releases, withdrawing
one returns what was not yet sent; every disclosure is logged."""

from datetime import timedelta

from sqlalchemy import select

from caseapp.models import Consent, Delivery, Disclosure, Referral
from caseapp.models.types import utcnow
from tests.helpers import assert_problem
from tests.services.delivery.helpers import CONSENT, ELDER, hook, referral_to, run_due


def without_consent(api, body=ELDER) -> dict:
    response = api.post("/api/v1/consultations", json=body)
    assert response.status_code == 201, response.json
    assert {r["status"] for r in response.json["referrals"]} == {"awaiting_consent"}
    return response.json


def test_nothing_leaves_without_consent_and_recording_it_releases_the_referral(
        api, session, config, recorder):
    hook(session, "houkatsu", "https://houkatsu.example/hook")
    created = without_consent(api)
    assert run_due(session, config, recorder) == [] and recorder.webhook.sent == []
    given = api.post(f"/api/v1/clients/{created['client_id']}/consents", json=CONSENT)
    assert given.status_code == 201, given.json
    released = {r["partner"]: r["status"] for r in given.json["released_referrals"]}
    assert released and set(released.values()) == {"requested"}
    run_due(session, config, recorder)
    assert len(recorder.webhook.sent) == 1
    referral = referral_to(session, created["id"], "houkatsu")
    assert referral.status == "sent"
    assert referral.legal_basis == f"consent:{given.json['id']}"
    disclosure = session.scalar(select(Disclosure).where(Disclosure.referral_id == referral.id))
    assert disclosure.basis == referral.legal_basis and disclosure.client_id == created["client_id"]
    shown = api.get(f"/api/v1/referrals/{referral.id}").json
    assert shown["disclosures"][0]["partner"] == "houkatsu"
    assert "contact.phone" in shown["disclosures"][0]["fields"]


def test_a_consent_naming_other_partners_releases_nothing(api, session):
    created = without_consent(api)
    given = api.post(f"/api/v1/clients/{created['client_id']}/consents",
                     json={**CONSENT, "scope": "partners", "partners": ["hellowork"]})
    assert given.status_code == 201 and given.json["released_referrals"] == []
    assert referral_to(session, created["id"], "houkatsu").status == "awaiting_consent"


def test_consent_input_is_checked(api):
    created = without_consent(api)
    path = f"/api/v1/clients/{created['client_id']}/consents"
    errors = assert_problem(api.post(path, json={**CONSENT, "scope": "partners",
                                                 "partners": ["nope"]}), 422)["errors"]
    assert "partners" in errors
    assert "method" in assert_problem(api.post(path, json={**CONSENT, "method": "telepathy"}),
                                      422)["errors"]
    assert_problem(api.post("/api/v1/clients/9999/consents", json=CONSENT), 404)


def test_withdrawal_returns_unsent_referrals_to_awaiting_consent(api, session, config, recorder):
    hook(session, "houkatsu", "https://houkatsu.example/hook")
    created = api.post("/api/v1/consultations", json={**ELDER, "consent": CONSENT}).json
    referral = referral_to(session, created["id"], "houkatsu")
    assert referral.status == "requested"
    consent_id = int(referral.legal_basis.split(":")[1])
    withdrawn = api.post(f"/api/v1/consents/{consent_id}/withdraw")
    assert withdrawn.status_code == 200, withdrawn.json
    assert withdrawn.json["withdrawn_at"]
    assert referral.id in [r["id"] for r in withdrawn.json["returned_referrals"]]
    session.refresh(referral)
    assert referral.status == "awaiting_consent" and referral.legal_basis is None
    assert {d.state for d in referral.deliveries} == {"held"}
    assert run_due(session, config, recorder) == [] and recorder.webhook.sent == []
    assert_problem(api.post(f"/api/v1/consents/{consent_id}/withdraw"), 409)
    # A new consent lets it go, on the same delivery row and message id.
    message_id = referral.deliveries[0].message_id
    api.post(f"/api/v1/clients/{created['client_id']}/consents", json=CONSENT)
    run_due(session, config, recorder)
    assert [r.headers["webhook-id"] for r in recorder.webhook.sent] == [message_id]


def test_a_consent_that_expired_before_sending_holds_the_referral(api, session, config,
                                                                  recorder):
    created = api.post("/api/v1/consultations", json={**ELDER, "consent": CONSENT}).json
    consent = session.scalar(select(Consent))
    consent.expires_at = utcnow() - timedelta(minutes=1)  # checked again when it is sent
    session.commit()
    assert run_due(session, config, recorder) == ["held"]
    referral = referral_to(session, created["id"], "houkatsu")
    assert referral.status == "awaiting_consent"
    assert session.scalar(select(Disclosure)) is None


def test_sensitive_matters_need_a_consent_that_covers_them(api, session):
    body = {**ELDER, "topics": ["elder_care", "dv_abuse"], "consent": CONSENT}
    created = api.post("/api/v1/consultations", json=body).json
    assert {r["status"] for r in created["referrals"]} == {"awaiting_consent"}
    given = api.post(f"/api/v1/clients/{created['client_id']}/consents",
                     json={**CONSENT, "covers_sensitive": True}).json
    assert {r["status"] for r in given["released_referrals"]} == {"requested"}


def test_an_emergency_is_sent_without_consent_on_the_life_and_safety_basis(api, session, config,
                                                                          recorder):
    body = {"client": ELDER["client"], "channel": "window", "topics": ["no_food"],
            "urgency": "emergency", "summary": "今夜食べるものがない"}
    created = api.post("/api/v1/consultations", json=body).json
    statuses = {r["partner"]: (r["status"], r["legal_basis"]) for r in created["referrals"]}
    assert statuses["jiritsu"] == ("requested", "life_safety")
    run_due(session, config, recorder)
    assert referral_to(session, created["id"], "jiritsu").status == "sent"
    assert session.scalar(select(Disclosure).where(Disclosure.basis == "life_safety"))


def test_a_supervisor_records_a_support_meeting_that_releases_its_members(api, session, tokens):
    created = without_consent(api)
    case_id = created["case_id"]
    body = {"law": "seikatsu_konkyu_9", "meeting_date": "2026-01-10", "partners": ["houkatsu"],
            "note": "第3回支援会議"}
    path = f"/api/v1/cases/{case_id}/support-meeting"
    assert_problem(api.post(path, json=body), 403)  # a counter user may not
    supervisor = api.as_(tokens["supervisor"])
    errors = assert_problem(supervisor.post(path, json={**body, "law": "hearsay",
                                                        "meeting_date": "2099-01-01"}),
                            422)["errors"]
    assert {"law", "meeting_date"} <= set(errors)
    assert "partners" in assert_problem(supervisor.post(path, json={**body,
                                                                    "partners": ["nope"]}),
                                        422)["errors"]
    recorded = supervisor.post(path, json=body)
    assert recorded.status_code == 201, recorded.json
    assert [r["partner"] for r in recorded.json["released_referrals"]] == ["houkatsu"]
    referral = referral_to(session, created["id"], "houkatsu")
    assert referral.legal_basis == f"support_meeting:{recorded.json['id']}"
    assert session.scalar(select(Delivery).where(Delivery.referral_id == referral.id))
    assert_problem(supervisor.post("/api/v1/cases/9999/support-meeting", json=body), 404)


def test_waiting_referrals_of_a_returning_client_go_with_a_consent_given_at_intake(api, session):
    first = without_consent(api)
    again = api.post("/api/v1/consultations", json={
        "client_id": first["client_id"], "channel": "phone", "topics": ["elder_care"],
        "consent": CONSENT})
    assert again.status_code == 201
    old = session.scalars(select(Referral).where(Referral.consultation_id == first["id"])).all()
    assert {r.status for r in old} == {"requested"}
