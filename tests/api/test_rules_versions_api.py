"""The rules' version history, replay preview and adopting an earlier version again, by API:
the same service as the admin pages."""

import copy

import yaml
from sqlalchemy import select

from caseapp import rules
from caseapp.models import AuditEntry
from tests.helpers import EXAMPLE, assert_problem


def _without_elderly() -> str:
    data = copy.deepcopy(rules.nankoku_ruleset_data())
    data["rules"] = [r for r in data["rules"] if r["id"] != "elderly"]
    return yaml.safe_dump(data, allow_unicode=True)


def test_replay_counts_and_examples_of_the_last_months(api, tokens, session):
    consultation = api.post("/api/v1/consultations", json=EXAMPLE).json
    admin = api.as_(tokens["admin"])
    response = admin.post("/api/v1/rules/replay?months=2", data=_without_elderly().encode(),
                          headers={"Content-Type": "application/yaml"})
    assert response.status_code == 200, response.json
    body = response.json
    assert body["total"] == 1 and body["changed"] == 1 and body["current_version"] == 1
    assert body["counts"]["houkatsu"]["refer"] == [1, 0]
    example = body["examples"][0]
    assert example["consultation_id"] == consultation["id"]
    assert "houkatsu" in example["before"] and "houkatsu" not in example["after"]
    assert example["received_at"].endswith("+09:00")
    entry = session.scalar(select(AuditEntry).where(AuditEntry.action == "replay"))
    assert entry.detail["consultations"] == [consultation["id"]]


def test_replay_of_a_broken_set_names_each_rule_and_field(api, tokens):
    data = copy.deepcopy(rules.nankoku_ruleset_data())
    data["rules"][0]["then"]["partners"] = ["no_such_partner"]
    response = api.as_(tokens["admin"]).post("/api/v1/rules/replay", json=data)
    problem = assert_problem(response, 422)
    assert any(key.startswith("emergency.") for key in problem["errors"])
    assert_problem(api.post("/api/v1/rules/replay", json=data), 403)
    assert_problem(api.as_(tokens["admin"]).post("/api/v1/rules/replay?months=99", json=data),
                   422)


def test_history_and_adopting_an_earlier_version_again(api, tokens):
    admin = api.as_(tokens["admin"])
    assert admin.put("/api/v1/rules", data=_without_elderly().encode(),
                     headers={"Content-Type": "application/yaml"}).status_code == 200
    response = admin.post("/api/v1/rules/versions/1/adopt")
    assert response.status_code == 200 and response.json["version"] == 3
    assert "elderly" in {r["id"] for r in response.json["rules"]}
    history = api.get("/api/v1/rules/versions").json
    assert [v["version"] for v in history] == [3, 2, 1]
    assert history[0]["copied_from"] == 1 and history[0]["active"]
    assert history[1]["adopted_by"] == "admin-1" and history[2]["adopted_by"] is None
    assert history[0]["adopted_at"].endswith("+09:00")
    assert_problem(admin.post("/api/v1/rules/versions/9/adopt"), 404)
    assert_problem(api.post("/api/v1/rules/versions/1/adopt"), 403)
