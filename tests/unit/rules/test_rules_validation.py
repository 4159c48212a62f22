"""Rule-set validation: every kind of problem, named by rule and field, all collected at once."""

from __future__ import annotations

import copy
import json

import pytest

from caseapp.rules import (
    NANKOKU_PARTNERS,
    Problem,
    RuleSetInvalid,
    compile_ruleset,
    load_ruleset_text,
    nankoku_ruleset_data,
    validate_ruleset,
)

PARTNERS = ("jiritsu", "houkatsu", "houterasu")
DELETE = object()


def then(partner, action="refer", reason="理由があります。"):
    return {"action": action, "partners": [partner], "method": "intro_letter", "reason": reason}


def base() -> dict:
    return {
        "version": "v1",
        "tables": {"income": {"rows": {1: 100, 2: 200}, "each_further": 10},
                   "limit": 5, "words": ["借金"], "sizes": [1, 2]},
        "rules": [
            {"id": "elderly",
             "when": {"any": [{"fact": "age", "op": "gte", "value": 65},
                              {"fact": "topics", "op": "has_any", "value": ["elder_care"]}]},
             "then": then("houkatsu")},
            {"id": "legal",
             "when": {"fact": "monthly_income", "op": "lte",
                      "value": {"table": "income", "key": "household_size"}},
             "then": then("houterasu")},
            {"id": "fallback", "fallback": True, "then": then("jiritsu")},
        ],
    }


def edit(path, value):
    """A change to the base set: set (or DELETE) the item at ``path``."""
    def apply(data):
        *parents, last = path
        target = data
        for key in parents:
            target = target[key]
        if value is DELETE:
            del target[last]
        else:
            target[last] = copy.deepcopy(value)
    return apply


def when(rule_index, *path):
    return ("rules", rule_index, "when", *path)


def problems_after(*edits) -> list[Problem]:
    data = base()
    for change in edits:
        change(data)
    return validate_ruleset(data, PARTNERS)


def test_the_base_set_is_valid():
    assert validate_ruleset(base(), PARTNERS) == []


def test_the_shipped_set_needs_every_partner_it_names():
    partners = [p for p in NANKOKU_PARTNERS if p != "attaka"]
    problems = validate_ruleset(nankoku_ruleset_data(), partners)
    assert [(p.rule, p.field) for p in problems] == [("place_to_go", "then.partners[0]")]
    assert "unknown partner 'attaka'" in problems[0].message


CASES = [
    # (edit, rule, field, part of the message)
    (edit(("rules",), []), None, "rules", "non-empty list"),
    (edit(("rule",), []), None, "rule", "unknown key"),
    (edit(("version",), 2026.1), None, "version", "quote it"),
    (edit(("rules", 0), "elderly"), "rules[0]", "(rule)", "a rule is a mapping"),
    (edit(("rules", 0, "id"), DELETE), "rules[0]", "id", "missing id"),
    (edit(("rules", 0, "id"), "高齢 者"), "rules[0]", "id", "letters, digits"),
    (edit(("rules", 1, "id"), "elderly"), "elderly", "id", "duplicate id; rules[0]"),
    (edit(("rules", 0, "whne"), {}), "elderly", "whne", "unknown key"),
    (edit(("rules", 0, "when"), DELETE), "elderly", "when", "missing condition"),
    (edit(when(0, "any", 0, "fact"), "agee"), "elderly", "when.any[0].fact", "unknown fact 'agee'"),
    (edit(when(0, "any", 0, "fact"), DELETE), "elderly", "when.any[0].fact", "missing fact"),
    (edit(when(0, "any", 0, "op"), "gtee"), "elderly", "when.any[0].op", "unknown operator 'gtee'"),
    (edit(when(0, "any", 0, "op"), DELETE), "elderly", "when.any[0].op", "missing operator"),
    (edit(when(0, "any", 0), {"fact": "employed", "op": "gte", "value": 1}),
     "elderly", "when.any[0].op", "does not apply to 'employed'"),
    (edit(when(0, "any", 0, "value"), "65"), "elderly", "when.any[0].value", "must be an integer"),
    (edit(when(0, "any", 0, "value"), True), "elderly", "when.any[0].value", "must be an integer"),
    (edit(when(0, "any", 0, "value"), DELETE), "elderly", "when.any[0].value", "needs a value"),
    (edit(when(0, "any", 0, "valeu"), 65), "elderly", "when.any[0].valeu", "unknown key"),
    (edit(when(0, "any", 0), {"fact": "housing", "op": "in", "value": "lost"}),
     "elderly", "when.any[0].value", "non-empty list"),
    (edit(when(0, "any", 0), {"fact": "housing", "op": "in", "value": ["lost", "gone"]}),
     "elderly", "when.any[0].value[1]", "unknown housing value 'gone'"),
    (edit(when(0, "any", 0), {"fact": "urgency", "op": "eq", "value": "critical"}),
     "elderly", "when.any[0].value", "unknown urgency 'critical'"),
    (edit(when(0, "any", 0), {"fact": "urgency", "op": "eq", "value": ["urgent"]}),
     "elderly", "when.any[0].value", "unknown urgency ['urgent']"),
    (edit(when(0, "any", 0), {"fact": "age", "op": "between", "value": [49, 15]}),
     "elderly", "when.any[0].value", "low <= high"),
    (edit(when(0, "any", 0), {"fact": "employed", "op": "is_true", "value": True}),
     "elderly", "when.any[0].value", "takes no value"),
    (edit(when(0, "any", 0), {"fact": "employed", "op": "eq", "value": "yes"}),
     "elderly", "when.any[0].value", "true or false"),
    (edit(when(0, "any", 0), {"fact": "summary", "op": "contains_any", "value": ["借金", 3]}),
     "elderly", "when.any[0].value[1]", "must be text"),
    (edit(when(0, "any", 0), {"fact": "topics", "op": "exists"}),
     "elderly", "when.any[0].op", "does not apply"),
    (edit(when(0, "any", 1, "value"), ["elder_car"]),
     "elderly", "when.any[1].value[0]", "unknown topic code 'elder_car'"),
    (edit(when(0, "any"), []), "elderly", "when.any", "non-empty list"),
    (edit(when(0, "all"), []), "elderly", "when", "must be alone"),
    (edit(when(0), "age >= 65"), "elderly", "when", "a condition is a mapping"),
    (edit(when(1, "value", "table"), "incom"), "legal", "when.value.table", "undefined table"),
    (edit(when(1, "value", "key"), DELETE), "legal", "when.value.key", "is keyed"),
    (edit(when(1, "value", "key"), "employed"), "legal", "when.value.key", "integer fact"),
    (edit(when(1, "value"), {"table": "limit", "key": "household_size"}),
     "legal", "when.value.key", "not keyed"),
    (edit(when(1, "value"), {"table": "words"}), "legal", "when.value.table", "is list"),
    (edit(when(1, "value"), {"tabel": "income"}), "legal", "when.value", "a table reference"),
    (edit(when(1), {"fact": "summary", "op": "contains_any", "value": {"table": "sizes"}}),
     "legal", "when.value.table", "does not hold texts"),
    (edit(when(1), {"fact": "topics", "op": "has_any", "value": {"table": "words"}}),
     "legal", "when.value", "unknown topic code '借金'"),
    (edit(("rules", 1, "then"), "houterasu"), "legal", "then", "not a mapping"),
    (edit(("rules", 1, "then", "partners"), ["houterasu", "bengoshi"]),
     "legal", "then.partners[1]", "unknown partner 'bengoshi'"),
    (edit(("rules", 1, "then", "partners"), ["houterasu", "houterasu"]),
     "legal", "then.partners[1]", "listed twice"),
    (edit(("rules", 1, "then", "partners"), []), "legal", "then.partners", "non-empty list"),
    (edit(("rules", 1, "then", "action"), "send"), "legal", "then.action", "unknown action"),
    (edit(("rules", 1, "then", "method"), "fax"), "legal", "then.method", "unknown method"),
    (edit(("rules", 1, "then", "method"), DELETE), "legal", "then.method", "missing method"),
    (edit(("rules", 1, "then", "urgency"), "asap"), "legal", "then.urgency", "unknown urgency"),
    (edit(("rules", 1, "then", "legal_basis"), "consent"),
     "legal", "then.legal_basis", "unknown legal_basis"),
    (edit(("rules", 1, "then", "reason"), DELETE), "legal", "then.reason", "missing reason"),
    (edit(("rules", 1, "then", "reason"), "  "), "legal", "then.reason", "missing reason"),
    (edit(("rules", 1, "then", "reason"), "Low income and a legal problem."),
     "legal", "then.reason", "in Japanese"),
    (edit(("rules", 1, "then", "partner"), ["houterasu"]), "legal", "then.partner", "unknown key"),
    (edit(("rules", 2, "fallback"), DELETE), "fallback", "when", "missing condition"),
    (edit(("rules", 2, "when"), {"fact": "age", "op": "gte", "value": 0}),
     "fallback", "when", "has no condition"),
    (edit(("rules", 2, "then", "action"), "suggest"), "fallback", "then.action", "must refer"),
    (edit(("rules", 2, "fallback"), "yes"), "fallback", "fallback", "true or false"),
    (edit(("tables", "income", "rows"), {1: 100, 3: 300}), None, "tables.income.rows",
     "without gaps"),
    (edit(("tables", "income", "rows"), {1: 100, 2: "200"}), None, "tables.income.rows.2",
     "must be an integer"),
    (edit(("tables", "income", "rows"), {0: 100}), None, "tables.income.rows.0",
     "positive integer"),
    (edit(("tables", "income", "rows"), {}), None, "tables.income.rows", "non-empty"),
    (edit(("tables", "income", "each_further"), -10), None, "tables.income.each_further",
     "non-negative"),
    (edit(("tables", "income", "step"), 10), None, "tables.income.step", "unknown key"),
    (edit(("tables", "limit"), 1.5), None, "tables.limit", "a table is"),
    (edit(("tables", "words"), ["借金", 3]), None, "tables.words", "only"),
    (edit(("tables", "words"), []), None, "tables.words", "must not be empty"),
    (edit(("tables",), ["income"]), None, "tables", "mapping"),
]


@pytest.mark.parametrize(("change", "rule", "field", "message"), CASES)
def test_problem_is_named_by_rule_and_field(change, rule, field, message):
    problems = problems_after(change)
    assert (rule, field) in [(p.rule, p.field) for p in problems], problems
    found = next(p for p in problems if (p.rule, p.field) == (rule, field))
    assert message in found.message
    line = str(found)
    assert "\n" not in line and field in line
    assert (rule or "ルールセット") in line


def test_no_fallback_is_a_problem_of_the_set():
    problems = problems_after(edit(("rules", 2), base()["rules"][0] | {"id": "again"}))
    (problem,) = [p for p in problems if (p.rule, p.field) == (None, "rules")]
    assert problem.message.startswith("フォールバックのルールがありません")
    assert "no fallback rule: mark exactly one rule fallback: true" in problem.message


def test_a_second_fallback_is_named():
    second = {"id": "fallback2", "fallback": True, "then": then("jiritsu")}
    problems = problems_after(lambda data: data["rules"].append(second))
    assert [(p.rule, p.field) for p in problems] == [("fallback2", "fallback")]
    assert "fallback is one already" in problems[0].message


def test_not_a_mapping_at_all():
    assert [(p.rule, p.field) for p in validate_ruleset(["rules"], PARTNERS)] == [
        (None, "(root)")]


def test_all_problems_are_collected_in_one_pass():
    changes = [
        edit(("tables", "income", "rows"), {1: 100, 3: 300}),
        edit(when(0, "any", 0, "op"), "gtee"),
        edit(when(0, "any", 1, "value"), ["elder_car", "debt", "no_fod"]),
        edit(("rules", 1, "then", "partners"), ["bengoshi"]),
        edit(("rules", 1, "then", "reason"), "English only"),
        edit(("rules", 1, "then", "method"), "fax"),
        edit(("rules", 2, "then", "urgency"), "asap"),
    ]
    problems = problems_after(*changes)
    assert {(p.rule, p.field) for p in problems} == {
        (None, "tables.income.rows"),
        ("elderly", "when.any[0].op"),
        ("elderly", "when.any[1].value[0]"),
        ("elderly", "when.any[1].value[2]"),
        ("legal", "then.partners[0]"),
        ("legal", "then.reason"),
        ("legal", "then.method"),
        ("fallback", "then.urgency"),
    }
    data = base()
    for change in changes:
        change(data)
    with pytest.raises(RuleSetInvalid) as raised:
        compile_ruleset(data, PARTNERS)
    assert raised.value.problems == problems
    assert str(raised.value).startswith("ルールセットに問題が 8 件あります")
    assert "8 problems in rule set" in str(raised.value)
    assert "ルール elderly: when.any[0].op: 使えない演算子です" in str(raised.value)
    assert "unknown operator 'gtee'" in str(raised.value)


def test_a_broken_table_is_reported_once_not_at_every_use():
    problems = problems_after(edit(("tables", "income"), {"rows": {1: "a"}}))
    assert [(p.rule, p.field) for p in problems] == [(None, "tables.income.rows.1")]


def test_problem_str_and_dict():
    problem = Problem("legal", "then.method", "unknown method 'fax'")
    assert str(problem) == "ルール legal: then.method: unknown method 'fax'"
    assert str(Problem(None, "tables.x", "bad")) == "ルールセット: tables.x: bad"
    assert problem.to_dict() == {"rule": "legal", "field": "then.method",
                                 "message": "unknown method 'fax'"}


# -- loading text --------------------------------------------------------------------------

YAML_TEXT = """
version: "2026-12"
tables:
  income: {rows: {1: 100, 2: 200}, each_further: 10}
rules:
  - id: legal
    when: {fact: monthly_income, op: lte, value: {table: income, key: household_size}}
    then: {action: refer, partners: [houterasu], method: intro_letter, reason: 収入が基準内です。}
  - id: fallback
    fallback: true
    then: {action: refer, partners: [jiritsu], method: intro_letter, reason: 受け止めます。}
"""


def test_yaml_and_json_text_load_to_the_same_rule_set():
    from_yaml = load_ruleset_text(YAML_TEXT)
    from_json = load_ruleset_text(json.dumps(from_yaml, ensure_ascii=False, indent=2))
    assert from_json["tables"]["income"]["rows"] == {"1": 100, "2": 200}
    assert validate_ruleset(from_yaml, PARTNERS) == []
    assert validate_ruleset(from_json, PARTNERS) == []
    assert from_json["rules"] == from_yaml["rules"]


def test_the_shipped_set_round_trips_through_json():
    data = nankoku_ruleset_data()
    again = load_ruleset_text(json.dumps(data, ensure_ascii=False))
    compiled = compile_ruleset(again, NANKOKU_PARTNERS)
    assert compiled.version == data["version"]
    assert compiled.rules == data["rules"]


def test_yaml_flow_style_is_not_mistaken_for_json():
    assert load_ruleset_text("{version: v1, rules: []}") == {"version": "v1", "rules": []}


def test_dates_stay_text_and_floats_are_caught_by_validation():
    assert load_ruleset_text("version: 2026-11-27\nrules: []")["version"] == "2026-11-27"
    data = load_ruleset_text("version: 2026.10\nrules: []")
    assert ("version" in {p.field for p in validate_ruleset(data, PARTNERS)})


@pytest.mark.parametrize(("text", "message"), [
    ("rules:\n  - id: a\n   when: x\n", "line"),
    ("rules: [\n", "line"),
    ('{"rules": [1,}', "line"),
    ("- just\n- a list\n", "must hold a mapping"),
    ("", "must hold a mapping"),
    ("rules:\n  - id: a\n    when: {}\n    when: {}\n", "duplicate key 'when'"),
])
def test_unreadable_text_is_a_file_problem(text, message):
    with pytest.raises(RuleSetInvalid) as raised:
        load_ruleset_text(text)
    (problem,) = raised.value.problems
    assert (problem.rule, problem.field) == (None, "(file)")
    assert message in problem.message
    assert "\n" not in str(problem)
