"""Intake end to end through HTTP: the API.md example, anonymous consultations, bad input."""

import pytest
from sqlalchemy import func, select

from caseapp.models import (
    AuditEntry,
    Case,
    Client,
    Consultation,
    Delivery,
    Referral,
    RoutingDecision,
)
from caseapp.services.intake import consultations
from tests.helpers import EXAMPLE, assert_problem


def count(session, model) -> int:
    return session.scalar(select(func.count()).select_from(model))


def test_api_md_example_is_routed_and_referred(api, session):
    response = api.post("/api/v1/consultations", json=EXAMPLE)
    assert response.status_code == 201, response.json
    body = response.json
    assert body["client_id"] and body["case_id"] and body["id"]
    partners = {d["partner"] for d in body["routing"]["decisions"]}
    assert "houkatsu" in partners
    assert body["routing"]["ruleset_version"] == 1
    houkatsu = next(d for d in body["routing"]["decisions"] if d["partner"] == "houkatsu")
    assert houkatsu["rule_id"] and houkatsu["reason"] and houkatsu["action"] == "refer"
    referred = {r["partner"]: r["status"] for r in body["referrals"]}
    # Written consent covering the network: referrals are ready to deliver.
    assert referred["houkatsu"] == "requested"
    assert count(session, Delivery) >= len(body["referrals"])


def test_anonymous_consultation_is_accepted_and_routed_to_the_coordinator(api, session):
    response = api.post("/api/v1/consultations",
                        json={"channel": "event", "summary": "誰にも言えない悩みがある"})
    assert response.status_code == 201, response.json
    body = response.json
    assert body["client_id"] is None
    assert [r["partner"] for r in body["referrals"]] == ["jiritsu"]
    assert body["topics"] == ["other"]
    case = session.get(Case, body["case_id"])
    # 迷子にさせない: even an anonymous case has an owner and a dated next step.
    assert case.owner_id is not None and case.next_action_at is not None


def test_without_consent_referrals_wait_and_nothing_is_queued(api, session):
    body = {**EXAMPLE}
    body.pop("consent")
    response = api.post("/api/v1/consultations", json=body)
    assert response.status_code == 201
    assert {r["status"] for r in response.json["referrals"]} == {"awaiting_consent"}
    assert count(session, Delivery) == 0


def test_intake_leaves_audit_rows_for_client_and_consultation(api, session):
    response = api.post("/api/v1/consultations", json=EXAMPLE)
    actions = {(a.action, a.resource_type) for a in session.scalars(select(AuditEntry))}
    assert ("create", "client") in actions and ("create", "consultation") in actions
    api.get(f"/api/v1/consultations/{response.json['id']}")
    reads = session.scalars(select(AuditEntry).where(AuditEntry.action == "read",
                                                     AuditEntry.resource_type == "consultation"))
    assert [r.resource_id for r in reads] == [str(response.json["id"])]


def test_returning_client_joins_the_open_case(api):
    first = api.post("/api/v1/consultations", json=EXAMPLE).json
    again = api.post("/api/v1/consultations", json={
        "client_id": first["client_id"], "channel": "phone", "topics": ["housing"]}).json
    assert again["case_id"] == first["case_id"]
    assert again["client_id"] == first["client_id"]


def test_consent_given_at_a_returning_visit_releases_what_waited(api, session):
    body = {**EXAMPLE}
    consent = body.pop("consent")
    first = api.post("/api/v1/consultations", json=body).json
    assert {r["status"] for r in first["referrals"]} == {"awaiting_consent"}
    again = api.post("/api/v1/consultations", json={
        "client_id": first["client_id"], "channel": "window", "topics": ["housing"],
        "consent": consent})
    assert again.status_code == 201, again.json
    assert again.json["case_id"] == first["case_id"]
    assert {r["status"] for r in again.json["referrals"]} == {"requested"}
    earlier = [session.get(Referral, r["id"]) for r in first["referrals"]]
    assert {r.status for r in earlier} == {"requested"}
    assert all(r.legal_basis.startswith("consent:") for r in earlier)
    referred = [r["id"] for r in first["referrals"] + again.json["referrals"]]
    pending = session.scalars(select(Delivery.referral_id).where(Delivery.state == "pending"))
    assert set(pending) == set(referred)
    shown = api.get(f"/api/v1/clients/{first['client_id']}").json
    assert len(shown["consents"]) == 1


def test_get_consultation_shows_decisions_and_referrals(api):
    created = api.post("/api/v1/consultations", json=EXAMPLE).json
    fetched = api.get(f"/api/v1/consultations/{created['id']}")
    assert fetched.status_code == 200
    assert fetched.json["routing"] == created["routing"]
    assert fetched.json["referrals"] == created["referrals"]


def test_wareki_birth_date_is_accepted(api, session):
    body = {**EXAMPLE, "client": {**EXAMPLE["client"], "birth_date": "昭和27年4月1日"}}
    response = api.post("/api/v1/consultations", json=body)
    assert response.status_code == 201, response.json
    assert session.get(Client, response.json["client_id"]).birth_date.isoformat() == "1952-04-01"


# --- bad input: problem+json, never a 500, nothing half-written -------------------------------


def test_malformed_json_is_400(api):
    response = api.post("/api/v1/consultations", data="{not json",
                        headers={"Content-Type": "application/json"})
    assert_problem(response, 400)


def test_invalid_fields_are_422_with_errors_per_field(api, session):
    response = api.post("/api/v1/consultations", json={
        "channel": "fax", "topics": ["debt", "借金"], "urgency": "very",
        "client": {"name": "", "birth_date": "平成31年5月1日", "name_kana": "山田"},
        "facts": {"age": "七十四", "favourite_colour": "blue"},
    })
    body = assert_problem(response, 422)
    errors = body["errors"]
    for field in ("channel", "urgency", "client.name", "client.birth_date", "facts.age",
                  "facts.favourite_colour"):
        assert field in errors, (field, errors)
    assert any(key.startswith("topics") for key in errors)
    assert "平成" in " ".join(errors["client.birth_date"])
    assert count(session, Consultation) == 0 and count(session, Client) == 0


def test_reading_that_is_not_kana_is_422_and_writes_nothing(api, session):
    body = {**EXAMPLE, "client": {**EXAMPLE["client"], "name_kana": "山田"}}
    problem = assert_problem(api.post("/api/v1/consultations", json=body), 422)
    assert "client.name_kana" in problem["errors"]
    assert count(session, Client) == 0 and count(session, Referral) == 0


def test_unknown_client_and_event_ids_are_422(api):
    problem = assert_problem(api.post("/api/v1/consultations", json={
        "client_id": 999, "channel": "window"}), 422)
    assert "client_id" in problem["errors"]
    problem = assert_problem(api.post("/api/v1/consultations", json={
        "event_id": 999, "channel": "event"}), 422)
    assert "event_id" in problem["errors"]


def test_naive_timestamps_are_refused(api):
    body = {**EXAMPLE, "received_at": "2026-11-27T10:00:00"}
    assert "received_at" in assert_problem(api.post("/api/v1/consultations", json=body),
                                           422)["errors"]


def test_consent_for_an_anonymous_consultation_is_refused(api, session):
    problem = assert_problem(api.post("/api/v1/consultations", json={
        "channel": "window", "consent": EXAMPLE["consent"]}), 422)
    assert "consent" in problem["errors"]
    assert count(session, Consultation) == 0 and count(session, Case) == 0


def test_unknown_ids_are_404(api):
    for path in ("/api/v1/consultations/424242", "/api/v1/clients/424242",
                 "/api/v1/cases/424242"):
        assert_problem(api.get(path), 404)
    assert_problem(api.get("/api/v1/no-such-thing"), 404)


def test_five_megabytes_is_413(api):
    response = api.post("/api/v1/consultations", data="x" * (5 * 1024 * 1024),
                        headers={"Content-Type": "application/json"})
    assert_problem(response, 413)


def test_wrong_method_is_405(api):
    response = api.client.delete("/api/v1/consultations/1",
                                 headers={"Authorization": f"Bearer {api.token}"})
    body = assert_problem(response, 405)
    assert body["status"] == 405


@pytest.mark.parametrize("header", [None, "Bearer nope", "Basic abc", "Bearer "])
def test_missing_or_bad_token_is_401(anon, header):
    headers = {"Authorization": header} if header else {}
    assert_problem(anon.post("/api/v1/consultations", json=EXAMPLE, headers=headers), 401)


def test_partner_token_cannot_take_an_intake(api, tokens):
    assert_problem(api.as_(tokens["partner:houkatsu"]).post("/api/v1/consultations",
                                                            json=EXAMPLE), 403)


def test_a_failure_mid_intake_leaves_nothing_behind(api, session, monkeypatch):

    def explode(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(consultations, "_schedule_next_action", explode)
    audited = count(session, AuditEntry)  # the seed's own (its areas' import)
    response = api.post("/api/v1/consultations", json=EXAMPLE)
    assert_problem(response, 500)
    session.rollback()
    for model in (Client, Consultation, Case, Referral, RoutingDecision, Delivery):
        assert count(session, model) == 0, model.__name__
    assert count(session, AuditEntry) == audited


def test_consultations_are_listed_newest_first_and_filtered(api):
    first = api.post("/api/v1/consultations", json={
        **EXAMPLE, "received_at": "2026-11-20T10:00:00+09:00"}).json
    second = api.post("/api/v1/consultations", json={
        "channel": "phone", "received_at": "2026-11-21T10:00:00+09:00"}).json
    listed = api.get("/api/v1/consultations")
    assert listed.status_code == 200
    assert [c["id"] for c in listed.json["items"]] == [second["id"], first["id"]]
    assert listed.json["total"] == 2
    by_case = api.get("/api/v1/consultations", query_string={"case_id": first["case_id"]})
    assert [c["id"] for c in by_case.json["items"]] == [first["id"]]
    window = api.get("/api/v1/consultations", query_string={
        "received_from": "2026-11-21T00:00:00+09:00", "per_page": 1})
    assert [c["id"] for c in window.json["items"]] == [second["id"]]
    assert window.json["per_page"] == 1
    assert "per_page" in assert_problem(
        api.get("/api/v1/consultations", query_string={"per_page": 1000}), 422)["errors"]


def test_fallback_only_is_recorded_for_never_refuse_accounting(api, session):
    routed = api.post("/api/v1/consultations", json=EXAMPLE).json
    caught = api.post("/api/v1/consultations", json={"channel": "phone"}).json
    assert session.get(Consultation, routed["id"]).fallback_only is False
    assert session.get(Consultation, caught["id"]).fallback_only is True
