"""The municipality boundary, asked of every operation in the OpenAPI document: a Nakatosa token
cannot read, find or count anything of Nankoku's; PostgreSQL refuses it a second time; partners
of a block or of the prefecture see the referrals of every town they serve, and nothing else.
"""

import re

import pytest
import sqlalchemy as sa
from sqlalchemy import func, select

from caseapp.extensions import db
from caseapp.models import Area, Case, Client, Partner, Referral, User
from caseapp.permissions import has_permission
from caseapp.services.community import areas
from caseapp.services.core import auth, scope
from caseapp.services.network import seed
from tests.api.test_openapi_access import operations
from tests.api.towns import nakatosa_staff, send
from tests.helpers import EXAMPLE

NAMES = ("山田", "ヤマダ")


@pytest.fixture
def nankoku(api, tokens):
    """Nankoku's one consultation: a client with consent, a case, referrals, an event, a team
    and a household."""
    event = api.post("/api/v1/events", json={
        "name": "夜間相談会", "date": "2026-11-26", "partners": ["jiritsu"]}).json
    made = api.post("/api/v1/consultations", json={
        **EXAMPLE, "channel": "event", "event_id": event["id"],
        "received_at": "2026-11-26T19:00:00+09:00"}).json
    referral = next(r for r in made["referrals"] if r["partner"] == "houkatsu")
    api.post(f"/api/v1/consultations/{made['id']}/team",
             json={"partners": ["jiritsu"], "outcome": "resolved_on_site"})
    household = api.post("/api/v1/households", json={
        "name": "山田家", "members": [{"client_id": made["client_id"], "relationship": "head"}]})
    assert household.status_code == 201, household.json
    client = api.get(f"/api/v1/clients/{made['client_id']}").json
    # A rule-set version only Nankoku has: each town numbers its own versions from 1.
    again = api.as_(tokens["admin"]).post("/api/v1/rules/versions/1/adopt")
    assert again.status_code == 200, again.json
    version = max(v["version"] for v in api.get("/api/v1/rules/versions").json)
    return {"version": version, "client_id": made["client_id"], "case_id": made["case_id"],
            "consultation_id": made["id"], "referral_id": referral["id"],
            "event_id": event["id"], "consent_id": client["consents"][0]["id"],
            "household_id": household.json["id"], "code": "houkatsu", "token": "not-a-token",
            "reminder_id": 1, "alert_id": 1, "watch_id": 1, "meeting_id": 1, "task_id": 1}


@pytest.fixture
def nakatosa(seeded):
    """Nakatosa on the same platform: its areas, network, rule set and staff."""
    return nakatosa_staff(seeded)


def fill(path: str, values: dict) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: str(values.get(m.group(1), 1)), path)



def snapshot(session, world) -> tuple:
    session.expire_all()
    return (session.get(Client, world["client_id"]).name,
            session.get(Case, world["case_id"]).status,
            session.get(Referral, world["referral_id"]).status,
            session.scalar(select(func.count()).select_from(Referral)))


def test_a_nakatosa_token_reaches_nothing_of_nankokus_through_any_operation(
        app, api, nankoku, nakatosa, session):
    before = snapshot(session, nankoku)
    token = nakatosa["admin"]
    single = lists = 0
    for method, path, permission in operations(app):
        if permission in (None, "public") or not has_permission("admin", permission):
            continue  # not an admin's (partner operations, the ack link): 403 / 401 anyway
        if "{" in path:
            response = send(api, token, method, fill(path, nankoku), {})
            if method == "GET":
                assert response.status_code == 404, (method, path, response.status_code)
                single += 1
            else:
                # Refused before or at the lookup: never done, never a 500.
                assert response.status_code in (404, 409, 422), (method, path,
                                                                 response.status_code)
        elif method == "GET":
            query = {"q": "山田"} if path == "/api/v1/clients" else None
            response = send(api, token, method, path, query=query)
            assert response.status_code == 200, (path, response.get_json())
            lists += 1
        else:
            continue
        body = response.get_data(as_text=True)
        assert not any(name in body for name in NAMES), (method, path)
    assert single >= 15 and lists >= 10
    assert snapshot(session, nankoku) == before


def test_lists_searches_and_reports_count_nothing_of_nankokus(api, tokens, nankoku, nakatosa):
    theirs = nakatosa["supervisor"]
    assert send(api, theirs, "GET", "/api/v1/clients", query={"q": "山田"}).json["items"] == []
    for path in ("/api/v1/consultations", "/api/v1/cases", "/api/v1/referrals",
                 "/api/v1/events"):
        listed = send(api, theirs, "GET", path).json
        assert listed["items"] == [] and listed.get("total", 0) == 0, path
    report = {"from": "2026-11", "to": "2026-11"}
    ours = send(api, tokens["supervisor"], "GET", "/api/v1/reports/monthly", query=report).json
    assert ours["by_month"][0]["consultations"] == 1
    counted = send(api, theirs, "GET", "/api/v1/reports/monthly", query=report).json
    assert counted["by_month"][0]["consultations"] == 0
    assert counted["referrals_by_partner"] == [] and counted["by_event"] == []
    # The audit log: Nankoku's reads are Nankoku's.
    audit = send(api, theirs, "GET", "/api/v1/audit").get_data(as_text=True)
    assert "counter-1" not in audit
    # Partners: Nankoku's own are not in Nakatosa's network; the prefecture's are.
    codes = {p["code"] for p in send(api, theirs, "GET", "/api/v1/partners").json["items"]}
    assert "houkatsu" not in codes and {"nakatosa_houkatsu", "kochi_kenshakyo"} <= codes


def test_a_consultation_in_nakatosa_uses_nakatosas_rules_and_stays_there(api, nankoku,
                                                                         nakatosa):
    made = send(api, nakatosa["counter"], "POST", "/api/v1/consultations", {
        "client": {"name": "浜田 花子"}, "channel": "window", "topics": ["elder_care"],
        "summary": "母の介護のこと"})
    assert made.status_code == 201, made.json
    assert {r["partner"] for r in made.json["referrals"]} == {"nakatosa_houkatsu"}
    assert send(api, api.token, "GET", f"/api/v1/consultations/{made.json['id']}") \
        .status_code == 404
    # Nankoku's staff cannot refer to a partner of Nakatosa's network either.
    refused = send(api, api.token, "POST", "/api/v1/referrals", {
        "case_id": nankoku["case_id"], "partner": "nakatosa_houkatsu", "reason": "試し",
        "method": "info_only"})
    assert refused.status_code == 422


def test_areas_list_the_tree_a_token_may_see(api, nankoku, nakatosa):
    seen = {a["code"] for a in send(api, nakatosa["counter"], "GET", "/api/v1/areas",
                                    query={"per_page": 100}).json["items"]}
    assert {"390003", "390003-susaki", "394017", "394017-D1"} <= seen
    assert "392049" not in seen and "390003-chuohigashi" not in seen
    mine = {a["code"] for a in send(api, api.token, "GET", "/api/v1/areas",
                                    query={"per_page": 100}).json["items"]}
    assert "392049" in mine and not any(code.startswith("394017") for code in mine)


def test_a_block_partner_sees_both_towns_referrals_to_it_and_nothing_else(
        app, api, seeded, nankoku, nakatosa):
    # A second town of the 須崎 block beside Nakatosa: 梼原町, whose rules send to the block.
    block = areas.get_by_code(seeded, "390003-susaki")
    town = Area(code="394050", name="梼原町", level="municipality", parent_id=block.id)
    seeded.add(town)
    seeded.commit()
    _user, yusuhara = auth.create_user(seeded, "yusuhara-counter", "counter",
                                       municipality_id=town.id)
    _user, admin = auth.create_user(seeded, "yusuhara-admin", "admin", municipality_id=town.id)
    rules = seed.ruleset_data("nakatosa")
    rules["rules"] = [{**rule, "then": {**rule["then"], "partners": ["susaki_hokenjo"]}}
                      for rule in rules["rules"] if rule["id"] in ("public_assistance", "fallback")]
    assert send(api, admin, "PUT", "/api/v1/rules", rules).status_code == 200
    referred = {}
    for town, token in (("nakatosa", nakatosa["counter"]), ("yusuhara", yusuhara)):
        made = send(api, token, "POST", "/api/v1/consultations", {
            "client": {"name": f"{town} 太郎"}, "channel": "window",
            "summary": "生活保護を申請したい", "consent": EXAMPLE["consent"]})
        assert made.status_code == 201, made.json
        (referral,) = [r for r in made.json["referrals"] if r["partner"] == "susaki_hokenjo"]
        referred[town] = referral["id"]
    # And one to the prefecture's partner from Nankoku, which the block partner never sees.
    to_prefecture = send(api, api.token, "POST", "/api/v1/referrals", {
        "case_id": nankoku["case_id"], "partner": "kochi_kenshakyo", "reason": "生活福祉資金の相談",
        "method": "info_only"})
    assert to_prefecture.status_code == 201, to_prefecture.json
    hokenjo = auth.partner_token(seeded, "susaki_hokenjo")
    inbox = send(api, hokenjo, "GET", "/api/v1/partner/referrals").json["items"]
    assert {r["id"] for r in inbox} == set(referred.values())
    assert send(api, hokenjo, "GET", f"/api/v1/partner/referrals/{nankoku['referral_id']}") \
        .status_code == 404
    kenshakyo = auth.partner_token(seeded, "kochi_kenshakyo")
    seen = send(api, kenshakyo, "GET", "/api/v1/partner/referrals").json["items"]
    assert {r["id"] for r in seen} == {to_prefecture.json["id"]}


def postgresql_only() -> None:
    if db.engine.dialect.name != "postgresql":
        pytest.skip("row-level security is PostgreSQL's")


def test_the_app_connects_as_a_role_row_level_security_applies_to(session):
    postgresql_only()
    conn = session.connection()
    superuser, bypass = conn.execute(sa.text(
        "SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user")).one()
    owned = conn.execute(sa.text(
        "SELECT count(*) FROM pg_tables WHERE schemaname = 'public' "
        "AND tableowner = current_user")).scalar()
    assert (superuser, bypass, owned) == (False, False, 0)


def test_postgresql_row_level_security_refuses_another_towns_rows(session, nankoku, nakatosa):
    postgresql_only()
    nankoku_id = areas.municipality(session, "nankoku").id
    nakatosa_id = areas.municipality(session, "nakatosa").id
    conn = session.connection()

    def counts(town: int) -> dict:
        conn.execute(sa.text("SELECT set_config('caseapp.municipality', :m, true)"),
                     {"m": str(town)})
        return {t: conn.execute(sa.text(f"SELECT count(*) FROM {t}")).scalar()
                for t in ("clients", "cases", "consultations", "referrals", "events",
                          "households")}

    assert all(n >= 1 for n in counts(nankoku_id).values())
    assert counts(nakatosa_id) == dict.fromkeys(counts(nakatosa_id), 0)
    found = conn.execute(sa.text("SELECT name FROM clients WHERE id = :id"),
                         {"id": nankoku["client_id"]}).all()
    assert found == []
    for unscoped in ("*", ""):
        conn.execute(sa.text("SELECT set_config('caseapp.municipality', :m, true)"),
                     {"m": unscoped})
        assert conn.execute(sa.text("SELECT count(*) FROM clients")).scalar() >= 1


def test_a_nakatosa_transaction_cannot_write_a_nankoku_row(session, nankoku, nakatosa):
    """WITH CHECK: a write that names another town fails, even past the ORM's scope."""
    postgresql_only()
    nankoku_id = areas.municipality(session, "nankoku").id
    nakatosa_id = areas.municipality(session, "nakatosa").id
    scope.enter(session, scope.for_municipality(session, nakatosa_id))
    try:
        own = session.execute(sa.insert(Client).values(
            name="浜田 花子", search_key="浜田花子", municipality_id=nakatosa_id,
            created_at=sa.func.now(), updated_at=sa.func.now()).returning(Client.id)).scalar()
        writes = [
            sa.insert(Client).values(name="山田 次郎", search_key="山田次郎",
                                     municipality_id=nankoku_id, created_at=sa.func.now(),
                                     updated_at=sa.func.now()),
            # Moving its own row into Nankoku is writing a Nankoku row too.
            sa.update(Client).where(Client.id == own).values(municipality_id=nankoku_id),
        ]
        for statement in writes:
            with (pytest.raises(sa.exc.ProgrammingError, match="row-level security"),
                  session.begin_nested()):
                session.execute(statement)
        # Nankoku's row is not there to update: nothing changes.
        changed = session.execute(sa.update(Client).where(Client.id == nankoku["client_id"])
                                  .values(name="書き換え"))
        assert changed.rowcount == 0
    finally:
        scope.leave(session)
    session.commit()
    assert session.get(Client, nankoku["client_id"]).name == "山田 太郎"


def test_new_rows_take_the_actors_municipality(api, nakatosa, session):
    made = send(api, nakatosa["counter"], "POST", "/api/v1/consultations", {
        "client": {"name": "浜田 花子"}, "channel": "window", "summary": "話を聞いてほしい"}).json
    town = areas.municipality(session, "nakatosa").id
    session.expire_all()
    client = session.get(Client, made["client_id"])
    case = session.get(Case, made["case_id"])
    assert client.municipality_id == case.municipality_id == town


def test_users_create_names_the_municipality_once_there_are_several(app, seeded):
    runner = app.test_cli_runner()
    only = runner.invoke(args=["users", "create", "suzuki", "--role", "counter"])
    assert only.exit_code == 0, only.output  # 南国市 is the only one: no flag needed
    seed.seed_network(seeded, "hidaka")
    several = runner.invoke(args=["users", "create", "takahashi", "--role", "counter"])
    assert several.exit_code != 0 and "--municipality" in several.output
    named = runner.invoke(args=["users", "create", "takahashi", "--role", "counter",
                                "--municipality", "hidaka"])
    assert named.exit_code == 0, named.output
    seeded.expire_all()
    users = {u.name: u.municipality_id for u in seeded.scalars(select(User))}
    assert users["suzuki"] == areas.municipality(seeded, "nankoku").id
    assert users["takahashi"] == areas.municipality(seeded, "hidaka").id


def test_a_partner_serves_the_area_its_layer_names(api, seeded, nakatosa):
    """法テラス (prefecture) is in every town's directory, 中央東福祉保健所 (block) only in its
    block's towns, Nankoku's 地域包括 (municipality) in Nankoku's alone."""
    def codes(token):
        listed = send(api, token, "GET", "/api/v1/partners", query={"per_page": 100})
        return {p["code"] for p in listed.json["items"]}

    nakatosa_sees, nankoku_sees = codes(nakatosa["counter"]), codes(api.token)
    assert {"houterasu", "kochi_kenshakyo", "susaki_hokenjo"} <= nakatosa_sees
    assert not {"hokenjo", "houkatsu", "hellowork"} & nakatosa_sees
    assert {"houterasu", "hokenjo", "houkatsu"} <= nankoku_sees
    assert "susaki_hokenjo" not in nankoku_sees
    # An admin who makes a town partner a block one shares it with the block's other towns.
    moved = send(api, nakatosa["admin"], "PATCH", "/api/v1/partners/nakatosa_houkatsu",
                 {"layer": "block"})
    assert moved.status_code == 200, moved.json
    assert areas.get_by_code(seeded, "390003-susaki").id == seeded.scalar(
        select(Partner.area_id).where(Partner.code == "nakatosa_houkatsu"))
