"""Who can reach which referral: every partner endpoint against every other partner (BOLA),
staff tokens on partner endpoints and partner tokens on staff endpoints."""

import itertools

import pytest
from sqlalchemy import select

from caseapp.models import AuditEntry, Referral, ReferralEvent
from tests.api.loop_helpers import PARTNERS, intake, move, one_each, referral_id
from tests.helpers import EXAMPLE, assert_problem

OTHERS = [pair for pair in itertools.permutations(PARTNERS, 2)]
ids_of = [f"{caller}-reads-{owner}" for caller, owner in OTHERS]


@pytest.mark.parametrize(("caller", "owner"), OTHERS, ids=ids_of)
def test_can_a_partner_read_another_partners_referral(api, tokens, session, caller, owner):
    rid = one_each(api)[owner]
    other = api.as_(tokens[f"partner:{caller}"])
    denied = assert_problem(other.get(f"/api/v1/partner/referrals/{rid}"), 404)
    # Indistinguishable from an id that does not exist: no oracle for probing.
    missing = assert_problem(other.get("/api/v1/partner/referrals/999999"), 404)
    assert denied["detail"].replace(str(rid), "N") == missing["detail"].replace("999999", "N")
    assert "name" not in str(denied) and "山田" not in str(denied)
    rows = list(session.scalars(select(AuditEntry).where(
        AuditEntry.resource_type == "referral", AuditEntry.outcome == "denied")))
    assert [(r.resource_id, r.actor_label, r.action) for r in rows] == [
        (str(rid), f"partner:{caller}", "read"), ("999999", f"partner:{caller}", "read")]


@pytest.mark.parametrize(("caller", "owner"), OTHERS, ids=ids_of)
def test_can_a_partner_move_another_partners_referral(api, tokens, session, caller, owner):
    rid = one_each(api)[owner]
    other = api.as_(tokens[f"partner:{caller}"])
    for body in ({"status": "received"}, {"status": "rejected", "reason": "x"},
                 {"status": "completed", "outcome": "got_help"}):
        assert_problem(move(other, rid, **body), 404)
    session.expire_all()
    assert session.get(Referral, rid).status == "requested"
    assert session.scalar(select(ReferralEvent).where(ReferralEvent.referral_id == rid,
                                                      ReferralEvent.to_status != "requested")) \
        is None
    denied = session.scalars(select(AuditEntry).where(AuditEntry.outcome == "denied",
                                                      AuditEntry.action == "update")).all()
    assert len(denied) == 3 and {d.resource_id for d in denied} == {str(rid)}


@pytest.mark.parametrize("caller", PARTNERS)
def test_does_a_partners_list_hold_anything_but_its_own(api, tokens, caller):
    ids = one_each(api)
    mine = api.as_(tokens[f"partner:{caller}"])
    seen = mine.get("/api/v1/partner/referrals", query_string={"per_page": 200})
    assert seen.status_code == 200
    assert [r["id"] for r in seen.json["items"]] == [ids[caller]]
    assert seen.json["total"] == 1
    for status in ("requested", "sent", "received", "cancelled"):
        filtered = mine.get("/api/v1/partner/referrals", query_string={"status": status})
        assert {r["id"] for r in filtered.json["items"]} <= {ids[caller]}


def test_can_a_partner_see_a_referral_that_is_waiting_for_consent(api, tokens):
    body = {k: v for k, v in EXAMPLE.items() if k != "consent"}
    rid = referral_id(intake(api, body), "houkatsu")
    houkatsu = api.as_(tokens["partner:houkatsu"])
    assert_problem(houkatsu.get(f"/api/v1/partner/referrals/{rid}"), 404)
    assert_problem(move(houkatsu, rid, "received"), 404)
    assert houkatsu.get("/api/v1/partner/referrals").json["items"] == []
    assert_problem(houkatsu.get("/api/v1/partner/referrals",
                                query_string={"status": "awaiting_consent"}), 422)


def test_can_anyone_without_a_token_use_the_partner_inbox(anon, api):
    rid = one_each(api)["houkatsu"]
    assert_problem(anon.get("/api/v1/partner/referrals"), 401)
    assert_problem(anon.get(f"/api/v1/partner/referrals/{rid}"), 401)
    assert_problem(move(anon, rid, "received"), 401)
    assert_problem(anon.as_("cat_forged").get("/api/v1/partner/referrals"), 401)


def _routes(app, scopes):
    """Every (method, path) whose view needs a permission in one of the scopes."""
    found = []
    for rule in app.url_map.iter_rules():
        view = app.view_functions[rule.endpoint]
        permission = str(getattr(view, "required_permission", ""))
        if permission.split(":")[0] not in scopes:
            continue
        path = rule.rule
        for arg in rule.arguments:
            path = path.replace(f"<int:{arg}>", "1").replace(f"<{arg}>", "x")
            path = path.replace(f"<string:{arg}>", "x")
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            found.append((method, path))
    return found


@pytest.mark.parametrize("role", ["counter", "supervisor", "admin"])
def test_can_staff_use_the_partner_endpoints(app, api, tokens, role):
    rid = one_each(api)["houkatsu"]
    staff = api.as_(tokens[role])
    routes = _routes(app, {"partner"})
    assert ("GET", "/api/v1/partner/referrals") in routes and len(routes) == 3
    for method, path in routes:
        path = path.replace("/1", f"/{rid}")
        response = staff.client.open(path, method=method, json={"status": "received"},
                                     headers={"Authorization": f"Bearer {tokens[role]}"})
        assert_problem(response, 403)


@pytest.mark.parametrize("code", PARTNERS)
def test_can_a_partner_use_any_staff_endpoint(app, api, tokens, session, code):
    made = intake(api)
    partner = api.as_(tokens[f"partner:{code}"])
    routes = _routes(app, {"staff", "supervisor", "admin"})
    for expected in (("GET", "/api/v1/referrals"), ("POST", "/api/v1/referrals"),
                     ("POST", "/api/v1/referrals/1/cancel"), ("GET", "/api/v1/cases"),
                     ("GET", "/api/v1/clients/1"), ("POST", "/api/v1/consultations")):
        assert expected in routes
    for method, path in routes:
        path = path.replace("/1", f"/{made['case_id']}")
        response = partner.client.open(
            path, method=method,
            json={"case_id": made["case_id"], "partner": code, "reason": "x",
                  "method": "info_only"},
            headers={"Authorization": f"Bearer {tokens[f'partner:{code}']}"})
        assert_problem(response, 403)
    session.expire_all()
    assert [r.status for r in session.scalars(select(Referral))] == ["requested"] * 3
