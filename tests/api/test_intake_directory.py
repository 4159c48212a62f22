"""The rule set and partner directory each process keeps for intake: a change made anywhere
(an admin, another process, a script) routes the very next consultation."""

import copy

import pytest
import yaml
from sqlalchemy import text

from caseapp import rules
from tests.helpers import EXAMPLE


def _referred(api) -> dict[str, str]:
    response = api.post("/api/v1/consultations", json=EXAMPLE)
    assert response.status_code == 201, response.json
    return {r["partner"]: r["status"] for r in response.json["referrals"]}


def test_a_rule_set_adopted_routes_the_next_intake(api, tokens):
    first = api.post("/api/v1/consultations", json=EXAMPLE).json
    assert first["routing"]["ruleset_version"] == 1
    assert "elderly" in {d["rule_id"] for d in first["routing"]["decisions"]}
    data = copy.deepcopy(rules.nankoku_ruleset_data())
    data["rules"] = [r for r in data["rules"] if r["id"] != "elderly"]
    adopted = api.as_(tokens["admin"]).put(
        "/api/v1/rules", data=yaml.safe_dump(data, allow_unicode=True).encode(),
        headers={"Content-Type": "application/yaml"})
    assert adopted.status_code == 200, adopted.json
    second = api.post("/api/v1/consultations", json=EXAMPLE).json
    assert second["routing"]["ruleset_version"] == 2
    assert "elderly" not in {d["rule_id"] for d in second["routing"]["decisions"]}


def test_a_partner_changed_by_an_admin_is_seen_by_the_next_intake(api, tokens):
    assert _referred(api)["houkatsu"] == "requested"
    admin = api.as_(tokens["admin"])
    assert admin.patch("/api/v1/partners/houkatsu", json={"active": False}).status_code == 200
    assert "houkatsu" not in _referred(api)
    assert admin.patch("/api/v1/partners/houkatsu", json={"active": True}).status_code == 200
    assert _referred(api)["houkatsu"] == "requested"


def test_a_partner_written_outside_the_app_is_seen_by_the_next_intake(api, session):
    """As another process or a script would: plain SQL, ``updated_at`` left alone."""
    if session.get_bind().dialect.name != "postgresql":
        pytest.skip("SQLite's stamp is the latest updated_at: its writers are the app's")
    assert _referred(api)["houkatsu"] == "requested"
    session.execute(text("UPDATE partners SET active = false WHERE code = 'houkatsu'"))
    session.commit()
    assert "houkatsu" not in _referred(api)
    session.execute(text("UPDATE partners SET active = true WHERE code = 'houkatsu'"))
    session.commit()
    assert _referred(api)["houkatsu"] == "requested"
