"""Access questions asked of every operation in the OpenAPI document, so a new endpoint is
covered the day it is added.

- Can a token that lacks the permission reach any id-taking operation? (403, nothing changes)
- Can a partner reach another partner's referral through any partner operation? (404)
- Does every read of personal data leave an audit entry?
"""

import re

import pytest
from sqlalchemy import func, select

from caseapp.models import AuditEntry, Referral
from caseapp.permissions import has_permission
from tests.helpers import EXAMPLE, assert_problem

PERSONAL = re.compile(r"^/api/v1/(clients|consultations|cases|referrals|partner/referrals|"
                      r"events/\{event_id\}/consultations|reminders|audit)")


def operations(app):
    spec = app.test_client().get("/api/v1/openapi.json").json
    adapter = app.url_map.bind("localhost")
    for path, methods in spec["paths"].items():
        for method in methods:
            if method.upper() not in {"GET", "POST", "PUT", "PATCH", "DELETE"}:
                continue
            flask_path = re.sub(r"\{(\w+)\}", "1", path)
            endpoint, _args = adapter.match(flask_path, method=method.upper())
            permission = getattr(app.view_functions[endpoint], "required_permission", None)
            yield method.upper(), path, permission


@pytest.fixture
def world(api, tokens, session):
    """One consultation with consent, referred to houkatsu among others, and an event."""
    event = api.post("/api/v1/events", json={
        "name": "夜間相談会", "date": "2026-11-26", "starts_at": "2026-11-26T18:00:00+09:00",
        "ends_at": "2026-11-26T21:00:00+09:00", "partners": ["jiritsu"]}).json
    made = api.post("/api/v1/consultations", json={
        **EXAMPLE, "channel": "event", "event_id": event["id"],
        "received_at": "2026-11-26T19:00:00+09:00"}).json
    referral = next(r for r in made["referrals"] if r["partner"] == "houkatsu")
    team = api.post(f"/api/v1/consultations/{made['id']}/team",
                    json={"partners": ["jiritsu"], "outcome": "resolved_on_site"})
    assert team.status_code == 201, team.json
    client = api.get(f"/api/v1/clients/{made['client_id']}").json
    return {"client_id": made["client_id"], "case_id": made["case_id"],
            "consultation_id": made["id"], "referral_id": referral["id"],
            "event_id": event["id"], "consent_id": client["consents"][0]["id"],
            "code": "houkatsu", "token": "not-a-token", "reminder_id": 1}


def fill(path: str, values: dict) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: str(values.get(m.group(1), 1)), path)


# Required query parameters, so the read reaches the data.
QUERIES = {"/api/v1/clients": {"q": "山田"}}


def send(api, method, path, body=None):
    return api.client.open(path, method=method, json=body if method != "GET" else None,
                           query_string=QUERIES.get(path) if method == "GET" else None,
                           headers={"Authorization": f"Bearer {api.token}"})


def test_can_a_token_without_the_permission_reach_any_id_taking_operation(app, api, tokens,
                                                                          world, session):
    checked = 0
    for method, path, permission in operations(app):
        if "{" not in path or permission in (None, "public"):
            continue
        for holder in ("counter", "partner:houterasu"):
            role = "partner" if holder.startswith("partner") else holder
            if has_permission(role, permission):
                continue
            before = session.get(Referral, world["referral_id"]).status
            response = send(api.as_(tokens[holder]), method, fill(path, world), {})
            assert response.status_code == 403, (holder, method, path, response.status_code)
            assert_problem(response, 403)
            session.expire_all()
            assert session.get(Referral, world["referral_id"]).status == before
            checked += 1
    assert checked >= 10


def test_can_a_partner_reach_another_partners_referral_through_any_partner_operation(
        app, api, tokens, world, session):
    checked = 0
    for method, path, _permission in operations(app):
        if not path.startswith("/api/v1/partner/") or "{referral_id}" not in path:
            continue
        body = {"status": "received", "note": "他機関の案件"} if method == "POST" else None
        response = send(api.as_(tokens["partner:houterasu"]), method, fill(path, world), body)
        problem = assert_problem(response, 404)
        assert "山田" not in str(problem)
        checked += 1
    assert checked >= 2
    assert session.get(Referral, world["referral_id"]).status in ("requested", "sent")


def audit_count(session) -> int:
    session.expire_all()
    return session.scalar(select(func.count()).select_from(AuditEntry))


def test_does_every_read_of_personal_data_leave_an_audit_entry(app, api, tokens, world, session):
    checked = 0
    for method, path, _permission in operations(app):
        if method != "GET" or not PERSONAL.match(path):
            continue
        caller = api.as_(tokens["partner:houkatsu"] if path.startswith("/api/v1/partner/")
                         else tokens["admin"])
        before = audit_count(session)
        response = send(caller, "GET", fill(path, world))
        assert response.status_code == 200, (path, response.get_json())
        assert audit_count(session) > before, f"GET {path} left no audit entry"
        checked += 1
    assert checked >= 10
