"""GET/PUT /rules, the dry run, and the offline checks of the CLI."""

import copy

import yaml
from sqlalchemy import func, select

from caseapp import rules
from caseapp.models import Consultation, RuleSetVersion
from tests.helpers import EXAMPLE, assert_problem
from tests.unit.rules.test_rules_messages_japanese import japanese_first


def test_get_rules_returns_the_active_version(api):
    response = api.get("/api/v1/rules")
    assert response.status_code == 200
    assert response.json["version"] == 1
    ids = [rule["id"] for rule in response.json["rules"]]
    assert ids == [rule["id"] for rule in rules.nankoku_ruleset_data()["rules"]]


def test_counter_staff_cannot_change_rules(api):
    assert_problem(api.put("/api/v1/rules", json=rules.nankoku_ruleset_data()), 403)


def test_admin_adopts_a_new_version_that_routes_new_consultations(api, tokens, session):
    data = copy.deepcopy(rules.nankoku_ruleset_data())
    elderly = next(r for r in data["rules"] if "houkatsu" in str(r.get("then")))
    elderly["then"]["reason"] = "高齢の方の相談のため、地域包括支援センターにつなぎます（v2）"
    admin = api.as_(tokens["admin"])
    response = admin.put("/api/v1/rules", json=data)
    assert response.status_code == 200, response.json
    assert response.json["version"] == 2
    routed = api.post("/api/v1/consultations", json=EXAMPLE).json
    assert routed["routing"]["ruleset_version"] == 2
    houkatsu = next(d for d in routed["routing"]["decisions"] if d["partner"] == "houkatsu")
    assert houkatsu["reason"].endswith("（v2）")


def test_yaml_is_accepted(api, tokens):
    text = yaml.safe_dump(rules.nankoku_ruleset_data(), allow_unicode=True)
    response = api.as_(tokens["admin"]).put("/api/v1/rules", data=text.encode(),
                                             headers={"Content-Type": "application/yaml"})
    assert response.status_code == 200, response.json
    assert response.json["version"] == 2


def test_a_broken_rule_set_is_refused_naming_each_rule_and_field(api, tokens, session):
    data = copy.deepcopy(rules.nankoku_ruleset_data())
    first, second = data["rules"][0], data["rules"][1]
    first["then"]["partners"] = ["no_such_partner"]
    second["when"] = {"fact": "topics", "op": "has_any", "value": ["gambling"]}
    response = api.as_(tokens["admin"]).put("/api/v1/rules", json=data)
    problem = assert_problem(response, 422)
    keys = " ".join(problem["errors"])
    assert first["id"] in keys and second["id"] in keys
    messages = " ".join(m for ms in problem["errors"].values() for m in ms)
    assert "no_such_partner" in messages and "gambling" in messages
    assert {p["rule"] for p in problem["problems"]} >= {first["id"], second["id"]}
    assert problem["detail"].startswith("ルールセットを受け付けられません")
    assert all(japanese_first(m) for ms in problem["errors"].values() for m in ms)
    assert all(japanese_first(p["message"]) for p in problem["problems"])
    assert session.scalar(select(func.count()).select_from(RuleSetVersion)) == 1


def test_unreadable_yaml_is_422(api, tokens):
    response = api.as_(tokens["admin"]).put("/api/v1/rules", data=b"rules: [unclosed",
                                             headers={"Content-Type": "application/yaml"})
    problem = assert_problem(response, 422)
    assert all(japanese_first(m) for ms in problem["errors"].values() for m in ms)


def test_malformed_json_is_422_in_japanese(api, tokens):
    response = api.as_(tokens["admin"]).put("/api/v1/rules", data=b'{"rules": [1,}',
                                             headers={"Content-Type": "application/json"})
    (message,) = assert_problem(response, 422)["errors"]["(file)"]
    assert message.startswith("ファイルを JSON として読めません。1 行目")


def test_evaluate_is_a_dry_run(api, session):
    response = api.post("/api/v1/rules/evaluate", json={k: v for k, v in EXAMPLE.items()
                                                         if k != "consent"})
    assert response.status_code == 200, response.json
    partners = {d["partner"] for d in response.json["decisions"]}
    assert "houkatsu" in partners
    assert response.json["ruleset_version"] == 1
    assert session.scalar(select(func.count()).select_from(Consultation)) == 0


def test_evaluate_uses_a_stored_clients_birth_date(api):
    client = api.post("/api/v1/clients", json={"name": "佐藤 一郎",
                                               "birth_date": "1950-05-05"}).json
    response = api.post("/api/v1/rules/evaluate",
                        json={"client_id": client["id"], "channel": "phone"})
    assert "houkatsu" in {d["partner"] for d in response.json["decisions"]}


def test_rules_check_cli(app, seeded, tmp_path):
    good = tmp_path / "good.yaml"
    good.write_text(yaml.safe_dump(rules.nankoku_ruleset_data(), allow_unicode=True), "utf-8")
    runner = app.test_cli_runner()
    result = runner.invoke(args=["rules", "check", str(good)])
    assert result.exit_code == 0, result.output
    assert "ok" in result.output

    data = rules.nankoku_ruleset_data()
    data["rules"][0]["then"]["partners"] = ["nowhere"]
    data["rules"][2]["then"]["action"] = "teleport"
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(data, allow_unicode=True), "utf-8")
    result = runner.invoke(args=["rules", "check", str(bad)])
    assert result.exit_code == 1
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) >= 2
    assert any(data["rules"][0]["id"] in line and "nowhere" in line for line in lines)
    assert any(data["rules"][2]["id"] in line and "teleport" in line for line in lines)
    assert all(japanese_first(line.split(": ", 1)[1]) for line in lines)


def test_rules_replay_cli_shows_the_difference(api, app, tmp_path):
    api.post("/api/v1/consultations", json=EXAMPLE)
    api.post("/api/v1/consultations", json={"channel": "phone", "topics": ["housing"]})
    data = rules.nankoku_ruleset_data()
    data["rules"] = [r for r in data["rules"]
                     if "houkatsu" not in str(r.get("then", {}).get("partners"))]
    candidate = tmp_path / "candidate.yaml"
    candidate.write_text(yaml.safe_dump(data, allow_unicode=True), "utf-8")
    result = app.test_cli_runner().invoke(args=["rules", "replay", str(candidate)])
    assert result.exit_code == 0, result.output
    assert "Replayed 2 consultations" in result.output
    assert "Routing changed for 1" in result.output
    houkatsu = next(line for line in result.output.splitlines() if line.startswith("houkatsu"))
    assert houkatsu.split()[1:3] == ["1", "0"]
