"""Records that must be true: what cannot be true is refused with a 422 naming the field."""

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from caseapp.models import Consent, Consultation
from tests.helpers import EXAMPLE, assert_problem


def count(session, model) -> int:
    session.expire_all()
    return session.scalar(select(func.count()).select_from(model))


def later(**delta) -> str:
    return (datetime.now(UTC) + timedelta(**delta)).isoformat()


def test_a_consent_given_in_the_future_is_refused_at_intake(api, session):
    body = {**EXAMPLE, "consent": {**EXAMPLE["consent"], "given_at": later(days=2)}}
    problem = assert_problem(api.post("/api/v1/consultations", json=body), 422)
    assert "consent.given_at" in problem["errors"]
    assert count(session, Consultation) == 0 and count(session, Consent) == 0


def test_a_consent_given_in_the_future_is_refused_on_its_own(api, session):
    body = {**EXAMPLE}
    body.pop("consent")
    client_id = api.post("/api/v1/consultations", json=body).json["client_id"]
    consent = {**EXAMPLE["consent"], "given_at": later(hours=3)}
    problem = assert_problem(api.post(f"/api/v1/clients/{client_id}/consents", json=consent),
                             422)
    assert "given_at" in problem["errors"]
    # A clock a minute ahead is not the future.
    consent["given_at"] = later(minutes=1)
    assert api.post(f"/api/v1/clients/{client_id}/consents", json=consent).status_code == 201


def test_a_consent_naming_an_unknown_partner_is_refused_at_intake(api, session):
    body = {**EXAMPLE, "consent": {**EXAMPLE["consent"], "scope": "partners",
                                   "partners": ["houkatsu", "no-such-body"]}}
    problem = assert_problem(api.post("/api/v1/consultations", json=body), 422)
    assert "no-such-body" in problem["errors"]["consent.partners"][0]
    assert count(session, Consultation) == 0


def test_an_event_is_named_only_by_an_event_consultation(api, session):
    event = api.post("/api/v1/events", json={"name": "夜間相談会", "date": "2026-11-26"}).json
    body = {**EXAMPLE, "channel": "window", "event_id": event["id"]}
    problem = assert_problem(api.post("/api/v1/consultations", json=body), 422)
    assert "event_id" in problem["errors"]
    assert count(session, Consultation) == 0
    made = api.post("/api/v1/consultations", json={**body, "channel": "event"})
    assert made.status_code == 201, made.json
    # Both reports now count it the same way: one consultation, at the event.
    report = api.get(f"/api/v1/events/{event['id']}/report").json
    assert report["consultations"]["total"] == 1
