"""Engine semantics on small hand-made rule sets: operators, missing facts, tables, merge."""

from __future__ import annotations

import json
from datetime import date

import pytest

from caseapp.rules import Decision, Subject, age_of, compile_ruleset, normalise_text

ON = date(2026, 11, 27)
PARTNERS = ("jiritsu", "houkatsu", "houterasu", "keicho", "minsei", "fukushi_jimusho")
FALLBACK = {"id": "fallback", "fallback": True,
            "then": {"action": "refer", "partners": ["jiritsu"], "method": "intro_letter",
                     "reason": "自立相談支援機関が受け止めます。"}}
_NO_VALUE = object()


def c(fact, op, value=_NO_VALUE):
    leaf = {"fact": fact, "op": op}
    if value is not _NO_VALUE:
        leaf["value"] = value
    return leaf


def rule(rule_id, when, partners=("houkatsu",), action="refer", **then):
    return {"id": rule_id, "when": when,
            "then": {"action": action, "partners": list(partners),
                     "method": then.pop("method", "intro_letter"),
                     "reason": then.pop("reason", f"{rule_id}に当たるため紹介します。"), **then}}


def build(*rules, tables=None):
    data = {"version": "t1", "tables": tables or {}, "rules": [*rules, FALLBACK]}
    return compile_ruleset(data, PARTNERS)


def subject(topics=(), summary="", urgency="normal", channel="window", birth_date=None,
            **facts):
    return Subject(topics=tuple(topics), urgency=urgency, channel=channel, summary=summary,
                   facts=facts, birth_date=birth_date, on=ON)


def fires(when, subj, tables=None) -> bool:
    decisions = build(rule("probe", when), tables=tables).evaluate(subj)
    return any(d.rule_id == "probe" for d in decisions)


# -- operators -----------------------------------------------------------------------------

@pytest.mark.parametrize(("when", "subj", "expected"), [
    (c("age", "eq", 40), subject(age=40), True),
    (c("age", "ne", 40), subject(age=40), False),
    (c("age", "gt", 40), subject(age=40), False),
    (c("age", "gt", 40), subject(age=41), True),
    (c("age", "gte", 40), subject(age=40), True),
    (c("age", "lt", 40), subject(age=40), False),
    (c("age", "lte", 40), subject(age=40), True),
    (c("age", "between", [15, 49]), subject(age=15), True),
    (c("age", "between", [15, 49]), subject(age=49), True),
    (c("age", "between", [15, 49]), subject(age=50), False),
    (c("household_size", "in", [3, 4]), subject(household_size=4), True),
    (c("household_size", "not_in", [3, 4]), subject(household_size=4), False),
    (c("employed", "is_true"), subject(employed=True), True),
    (c("employed", "is_false"), subject(employed=True), False),
    (c("employed", "eq", False), subject(employed=False), True),
    (c("employed", "ne", False), subject(employed=False), False),
    (c("housing", "eq", "at_risk"), subject(housing="at_risk"), True),
    (c("housing", "in", ["at_risk", "lost"]), subject(housing="stable"), False),
    (c("housing", "not_in", ["lost"]), subject(housing="stable"), True),
    (c("urgency", "eq", "urgent"), subject(urgency="urgent"), True),
    (c("channel", "in", ["visit", "outreach"]), subject(channel="outreach"), True),
    (c("topics", "has_any", ["debt", "housing"]), subject(["housing"]), True),
    (c("topics", "has_all", ["debt", "housing"]), subject(["housing"]), False),
    (c("topics", "has_all", ["debt", "housing"]), subject(["housing", "debt", "other"]), True),
    (c("topics", "has_none", ["debt"]), subject(["housing"]), True),
    (c("topic_count", "gte", 2), subject(["housing", "debt"]), True),
    (c("topic_count", "eq", 0), subject(), True),
    (c("benefits", "has_any", ["long_term_care"]), subject(benefits=["long_term_care"]), True),
    (c("benefits", "has_none", ["public_assistance"]), subject(benefits=[]), True),
    (c("summary", "contains_any", ["介護", "借金"]), subject(summary="借金がある"), True),
    (c("summary", "contains_all", ["介護", "借金"]), subject(summary="借金がある"), False),
    (c("savings", "exists"), subject(savings=0), True),
    (c("savings", "missing"), subject(savings=0), False),
    (c("savings", "missing"), subject(), True),
    (c("debt_count", "gte", 1), subject(debts=[{"principal": 1}]), True),
    (c("debt_total", "gt", 1_000_000),
     subject(debts=[{"principal": 600_000}, {"principal": 600_000}]), True),
    (c("any_debt_in_arrears", "is_true"),
     subject(debts=[{"in_arrears": False}, {"in_arrears": True}]), True),
])
def test_operator(when, subj, expected):
    assert fires(when, subj) is expected


@pytest.mark.parametrize("summary", ["ﾊﾅｼ ｱｲﾃが欲しい", "ハナシアイテが欲しい", "ハナシ　アイテ"])
def test_keywords_are_matched_after_nfkc_and_ignoring_spaces(summary):
    assert fires(c("summary", "contains_any", ["ハナシアイテ"]), subject(summary=summary))


def test_keywords_in_the_rule_are_normalised_too():
    assert fires(c("summary", "contains_any", ["８０５０"]), subject(summary="8050問題"))
    assert normalise_text(" ＤＶ 被害 ") == "dv被害"


# -- missing facts: three-valued logic -----------------------------------------------------

@pytest.mark.parametrize("when", [
    c("age", "gte", 65),
    c("age", "lt", 65),
    {"not": c("age", "gte", 65)},
    {"not": c("employed", "is_true")},
    {"not": {"not": c("age", "gte", 65)}},
    {"all": [c("topics", "has_any", ["debt"]), c("age", "gte", 65)]},
    {"not": {"any": [c("age", "gte", 65), c("topics", "has_any", ["other"])]}},
    c("housing", "ne", "stable"),
    c("benefits", "has_none", ["public_assistance"]),
])
def test_a_missing_fact_never_fires_even_under_not(when):
    assert fires(when, subject(["debt"])) is False


def test_any_with_one_true_part_fires_despite_a_missing_fact():
    when = {"any": [c("age", "gte", 65), c("topics", "has_any", ["debt"])]}
    assert fires(when, subject(["debt"]))


def test_all_with_a_false_part_is_false_so_not_of_it_fires():
    when = {"not": {"all": [c("age", "gte", 65), c("topics", "has_any", ["debt"])]}}
    assert fires(when, subject(["housing"]))  # debt is known absent: the all is False


def test_missing_can_be_asked_for_explicitly():
    when = {"any": [c("benefits", "missing"), c("benefits", "has_none", ["public_assistance"])]}
    assert fires(when, subject())
    assert fires(when, subject(benefits=["disability_pension"]))
    assert not fires(when, subject(benefits=["public_assistance"]))


def test_ill_typed_facts_count_as_missing():
    assert not fires(c("age", "gte", 65), subject(age="74"))
    assert not fires(c("employed", "is_false"), subject(employed=0))
    assert not fires(c("monthly_income", "lte", 100), subject(monthly_income=True))


# -- age -----------------------------------------------------------------------------------

@pytest.mark.parametrize(("born", "on", "age"), [
    (date(1961, 11, 28), date(2026, 11, 27), 64),
    (date(1961, 11, 27), date(2026, 11, 27), 65),
    (date(1961, 11, 26), date(2026, 11, 27), 65),
    (date(1960, 2, 29), date(2025, 2, 28), 64),  # leap-day birthday in a common year
    (date(1960, 2, 29), date(2025, 3, 1), 65),
    (date(1960, 2, 29), date(2024, 2, 29), 64),
    (date(2030, 1, 1), date(2026, 11, 27), None),  # born after the reference date
])
def test_age_from_birth_date(born, on, age):
    assert age_of(Subject(topics=(), birth_date=born, on=on)) == age


def test_facts_age_comes_first_and_bad_age_falls_back_to_birth_date():
    assert age_of(Subject(topics=(), facts={"age": 30}, birth_date=date(1950, 1, 1), on=ON)) == 30
    born = Subject(topics=(), facts={"age": "thirty"}, birth_date=date(1950, 1, 1), on=ON)
    assert age_of(born) == 76


# -- tables --------------------------------------------------------------------------------

INCOME_TABLE = {"income": {"rows": {1: 100, 2: 200}, "each_further": 50},
                "capped": {"rows": {1: 100, 2: 200}}, "limit": 1000,
                "words": ["借金", "離婚"], "sizes": [1, 2]}


def income_lte(table):
    return c("monthly_income", "lte", {"table": table, "key": "household_size"})


@pytest.mark.parametrize(("size", "income", "expected"), [
    (1, 100, True), (1, 101, False), (2, 200, True), (3, 250, True), (3, 251, False),
    (5, 350, True), (5, 351, False),
])
def test_keyed_table_lookup_with_each_further(size, income, expected):
    subj = subject(household_size=size, monthly_income=income)
    assert fires(income_lte("income"), subj, INCOME_TABLE) is expected


def test_keyed_table_without_each_further_finds_nothing_past_its_rows():
    assert not fires(income_lte("capped"), subject(household_size=3, monthly_income=0),
                     INCOME_TABLE)


def test_missing_table_key_makes_the_condition_unknown():
    assert not fires(income_lte("income"), subject(monthly_income=0), INCOME_TABLE)
    assert not fires({"not": income_lte("income")}, subject(monthly_income=999), INCOME_TABLE)


def test_scalar_and_list_tables():
    assert fires(c("savings", "lt", {"table": "limit"}), subject(savings=999), INCOME_TABLE)
    assert fires(c("summary", "contains_any", {"table": "words"}), subject(summary="離婚したい"),
                 INCOME_TABLE)
    assert fires(c("household_size", "in", {"table": "sizes"}), subject(household_size=2),
                 INCOME_TABLE)


def test_json_style_string_row_keys_work():
    tables = {"income": {"rows": {"1": 100, "2": 200}, "each_further": 50}}
    assert fires(income_lte("income"), subject(household_size=4, monthly_income=300), tables)


# -- per-creditor quantifiers --------------------------------------------------------------

EVERY_SMALL = c("every_debt_principal", "lte", 100)
ANY_BIG = c("any_debt_principal", "gt", 100)


@pytest.mark.parametrize(("debts", "every_small", "any_big"), [
    ([{"principal": 100}, {"principal": 50}], True, False),
    ([{"principal": 100}, {"principal": 101}], False, True),
    ([{"principal": 100}, {"creditor": "?"}], False, False),  # unknown: neither fires
    ([{"principal": 101}, {"creditor": "?"}], False, True),
    ([], False, False),
])
def test_every_and_any_creditor(debts, every_small, any_big):
    assert fires(EVERY_SMALL, subject(debts=debts)) is every_small
    assert fires(ANY_BIG, subject(debts=debts)) is any_big


def test_no_creditors_every_is_unknown_but_any_is_false():
    # Vacuous truth would route a person with no recorded debt to a debt specialist.
    assert not fires({"not": EVERY_SMALL}, subject(debts=[]))
    assert fires({"not": ANY_BIG}, subject(debts=[]))
    assert not fires({"not": ANY_BIG}, subject())


def test_debt_total_is_unknown_when_a_principal_is():
    assert not fires(c("debt_total", "gte", 0), subject(debts=[{"principal": 5}, {}]))
    assert fires(c("debt_total", "eq", 0), subject(debts=[]))


# -- merge ---------------------------------------------------------------------------------

def by_partner(decisions: list[Decision]) -> dict[str, Decision]:
    return {d.partner: d for d in decisions}


def test_refer_beats_an_earlier_suggestion_and_the_first_referrer_gives_the_reason():
    ruleset = build(
        rule("s1", c("topics", "has_any", ["debt"]), ["houterasu"], "suggest",
             method="info_only", reason="提案の理由です。"),
        rule("r1", c("topics", "has_any", ["debt"]), ["houterasu"], "refer",
             method="intro_letter", reason="最初の紹介理由です。"),
        rule("r2", c("topics", "has_any", ["debt"]), ["houterasu"], "refer",
             method="accompany", reason="二つ目の紹介理由です。"),
    )
    decision = by_partner(ruleset.evaluate(subject(["debt"])))["houterasu"]
    assert (decision.action, decision.rule_id, decision.method) == ("refer", "r1", "intro_letter")
    assert decision.reason == "最初の紹介理由です。"
    assert decision.also == ("s1", "r2")


def test_urgency_is_the_highest_of_all_rules_for_the_partner():
    ruleset = build(
        rule("a", c("topics", "has_any", ["debt"]), ["houterasu"], urgency="urgent"),
        rule("b", c("topics", "has_any", ["debt"]), ["houterasu"], "suggest",
             urgency="emergency"),
        rule("d", c("topics", "has_any", ["debt"]), ["houterasu"]),
    )
    assert by_partner(ruleset.evaluate(subject(["debt"])))["houterasu"].urgency == "emergency"


def test_no_urgency_override_is_none():
    ruleset = build(rule("a", c("topics", "has_any", ["debt"]), ["houterasu"]))
    assert ruleset.evaluate(subject(["debt"]))[0].urgency is None


def test_legal_basis_comes_from_any_winning_rule_only():
    debt = c("topics", "has_any", ["debt"])
    ruleset = build(
        rule("s", debt, ["houterasu", "keicho"], "suggest", legal_basis="life_safety"),
        rule("r1", debt, ["houterasu"]),
        rule("r2", debt, ["houterasu"], legal_basis="support_meeting"),
    )
    decisions = by_partner(ruleset.evaluate(subject(["debt"])))
    assert decisions["houterasu"].legal_basis == "support_meeting"
    assert decisions["houterasu"].rule_id == "r1"
    assert decisions["keicho"].legal_basis == "life_safety"  # the suggestion is the winner


def test_decisions_follow_the_file_order_of_their_winning_rules():
    ruleset = build(
        rule("first", c("topics", "has_any", ["debt"]), ["minsei", "houterasu"]),
        rule("second", c("topics", "has_any", ["debt"]), ["keicho"]),
    )
    assert [d.partner for d in ruleset.evaluate(subject(["debt"]))] == [
        "minsei", "houterasu", "keicho"]


def test_one_rule_to_two_partners_gives_two_decisions_with_the_same_reason():
    ruleset = build(rule("pair", c("topics", "has_any", ["community_relations"]),
                         ["keicho", "minsei"], "suggest"))
    decisions = by_partner(ruleset.evaluate(subject(["community_relations"])))
    assert decisions["keicho"].reason == decisions["minsei"].reason
    assert decisions["keicho"].matched == ("topics include [community_relations]",)


# -- fallback ------------------------------------------------------------------------------

def test_fallback_when_nothing_matches():
    ruleset = build(rule("old", c("age", "gte", 65)))
    decisions = ruleset.evaluate(subject(age=30))
    assert [(d.partner, d.action, d.rule_id) for d in decisions] == [
        ("jiritsu", "refer", "fallback")]
    assert decisions[0].matched == ("no other rule made a referral (断らない)",)


def test_fallback_when_only_suggestions_match():
    ruleset = build(rule("listen", c("topics", "has_any", ["community_relations"]), ["keicho"],
                         "suggest"))
    decisions = by_partner(ruleset.evaluate(subject(["community_relations"])))
    assert decisions["keicho"].action == "suggest"
    assert decisions["jiritsu"].rule_id == "fallback"


def test_fallback_merges_with_a_suggestion_to_the_same_partner():
    ruleset = build(rule("hint", c("topics", "has_any", ["other"]), ["jiritsu"], "suggest",
                         urgency="urgent"))
    (decision,) = ruleset.evaluate(subject(["other"]))
    assert (decision.action, decision.rule_id, decision.also) == ("refer", "fallback", ("hint",))
    assert decision.urgency == "urgent"


def test_no_fallback_when_another_rule_refers():
    ruleset = build(rule("old", c("age", "gte", 65)))
    assert [d.partner for d in ruleset.evaluate(subject(age=70))] == ["houkatsu"]


def test_fallback_need_not_be_last():
    data = {"rules": [FALLBACK, rule("old", c("age", "gte", 65))]}
    ruleset = compile_ruleset(data, PARTNERS)
    assert [d.rule_id for d in ruleset.evaluate(subject(age=10))] == ["fallback"]
    assert [d.rule_id for d in ruleset.evaluate(subject(age=70))] == ["old"]
    assert ruleset.version is None


# -- values in and out ---------------------------------------------------------------------

def test_decision_to_dict_is_json_ready():
    ruleset = build(rule("old", c("age", "gte", 65), legal_basis="life_safety",
                         urgency="urgent"))
    data = ruleset.evaluate(subject(age=74))[0].to_dict()
    assert data == {"partner": "houkatsu", "rule_id": "old",
                    "reason": "oldに当たるため紹介します。", "action": "refer",
                    "method": "intro_letter", "urgency": "urgent",
                    "legal_basis": "life_safety", "matched": ["age 74 >= 65"], "also": []}
    assert json.loads(json.dumps(data, ensure_ascii=False)) == data


def test_subject_copies_its_inputs():
    facts, topics = {"age": 70}, ["elder_care"]
    subj = Subject(topics=topics, facts=facts, on=ON)
    facts["age"] = 10
    topics.append("debt")
    assert subj.topics == ("elder_care",)
    assert subj.facts["age"] == 70
    with pytest.raises(TypeError):
        subj.facts["age"] = 1  # type: ignore[index]


def test_compiling_does_not_keep_a_reference_to_the_callers_data():
    data = {"version": "v", "rules": [rule("old", c("age", "gte", 65)), FALLBACK]}
    ruleset = compile_ruleset(data, PARTNERS)
    data["rules"][0]["id"] = "changed"
    assert ruleset.rules[0]["id"] == "old"
    assert len(ruleset) == 2


def test_matched_lists_only_the_parts_that_were_true():
    when = {"any": [c("age", "gte", 65), c("topics", "has_any", ["elder_care"]),
                    {"not": c("employed", "is_true")}]}
    ruleset = build(rule("r", when))
    decision = ruleset.evaluate(subject(["elder_care"], age=40, employed=False))[0]
    assert decision.matched == ("topics include [elder_care]", "not (employed is true)")
