"""Validation messages are read by welfare-office admins: Japanese first, the English after."""

from __future__ import annotations

import re

import pytest

from caseapp.rules import RuleSetInvalid, load_ruleset_text, validate_ruleset
from tests.unit.rules.test_rules_validation import CASES, PARTNERS, problems_after

JAPANESE = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uff66-\uff9f]")
ASCII_LETTER = re.compile(r"[A-Za-z]")

# One file with a problem of almost every kind: keys, version, tables, ids, conditions, actions.
BROKEN = """
version: 2026.10
owner: somebody
tables:
  income: {rows: {1: 100, 3: 300}, each_further: -1, step: 5}
  limit: 1.5
  words: [借金, 3]
  empty: []
  sizes: [1, 2]
  keyed: {rows: {0: 1, 1: "a"}}
  nothing: {rows: {}}
  named: ["借金"]
rules:
  - elderly
  - note: no id
    when: {fact: age, op: gte, value: 65}
    then: {action: refer, partners: [houkatsu], method: intro_letter, reason: 高齢です。}
  - id: 高齢 者
    whne: {}
    then: houkatsu
  - id: conditions
    when:
      any:
        - {fact: agee, op: gte, value: 1}
        - {op: gte, value: 1}
        - {fact: age, op: gtee, value: 1}
        - {fact: age, value: 1}
        - {fact: employed, op: gte, value: 1}
        - {fact: age, op: gte, value: "65"}
        - {fact: age, op: gte}
        - {fact: age, op: gte, value: 1, valeu: 2}
        - {fact: housing, op: in, value: lost}
        - {fact: housing, op: in, value: [lost, gone]}
        - {fact: urgency, op: eq, value: critical}
        - {fact: age, op: between, value: [49, 15]}
        - {fact: employed, op: is_true, value: true}
        - {fact: employed, op: eq, value: "yes"}
        - {fact: summary, op: contains_any, value: [借金, 3]}
        - {fact: topics, op: exists}
        - {fact: topics, op: has_any, value: [elder_car]}
        - {fact: topics, op: has_any, value: {table: named}}
        - {all: []}
        - {all: [], any: []}
        - age >= 65
        - {fact: monthly_income, op: lte, value: {table: incom}}
        - {fact: monthly_income, op: lte, value: {table: sizes}}
        - {fact: monthly_income, op: lte, value: {tabel: sizes}}
        - {fact: summary, op: contains_any, value: {table: sizes}}
        - {fact: age, op: lte, value: {table: limit, key: household_size}}
        - {fact: age, op: in, value: [1, "a"]}
    then:
      action: send
      partners: [houterasu, houterasu, bengoshi]
      method: fax
      urgency: asap
      legal_basis: consent
      reason: Low income.
      partner: x
  - id: conditions
    when: {fact: age, op: gte, value: 1}
    then: {partners: [], reason: "  "}
  - id: more
    fallback: "yes"
    when: {fact: age, op: gte, value: 1}
    then: {action: refer, partners: [jiritsu], method: intro_letter, reason: 受け止めます。}
  - id: first_fallback
    fallback: true
    when: {fact: age, op: gte, value: 0}
    then: {action: suggest, partners: [jiritsu], method: intro_letter, reason: 受け止めます。}
  - id: second_fallback
    fallback: true
    then: {action: refer, partners: [jiritsu], method: intro_letter, reason: 受け止めます。}
"""


def japanese_first(message: str) -> bool:
    """Some Japanese comes before any English word; the English follows in brackets."""
    japanese, letter = JAPANESE.search(message), ASCII_LETTER.search(message)
    return bool(japanese) and (letter is None or japanese.start() < letter.start())


def assert_japanese_first(problems) -> None:
    wrong = [str(p) for p in problems if not japanese_first(p.message)]
    assert not wrong, "\n".join(wrong)
    assert all(p.message.endswith("）") for p in problems)


def test_every_problem_in_a_broken_file_is_japanese_first():
    problems = validate_ruleset(load_ruleset_text(BROKEN), PARTNERS)
    assert len(problems) >= 50
    assert len({p.message.split("（")[0] for p in problems}) >= 35  # many kinds, not one
    assert_japanese_first(problems)
    assert all(japanese_first(str(p)) for p in problems)  # as `caseapp rules check` prints


def test_the_broken_file_still_names_the_problems_in_english_too():
    messages = " ".join(p.message for p in validate_ruleset(load_ruleset_text(BROKEN), PARTNERS))
    for english in ("unknown key", "quote it", "without gaps", "a rule is a mapping",
                    "missing id", "duplicate id", "unknown fact 'agee'", "low <= high",
                    "unknown partner 'bengoshi'", "only one fallback rule", "must refer",
                    "in Japanese", "undefined table"):
        assert english in messages


def test_a_set_without_fallback_says_so_in_japanese():
    problems = validate_ruleset({"rules": [{"id": "a", "when": {"fact": "age", "op": "gte",
                                                                 "value": 1}}]}, PARTNERS)
    assert any(p.message.startswith("フォールバックのルールがありません。fallback: true の"
                                    "ルールをちょうど一つ置いてください") for p in problems)
    assert_japanese_first(problems)
    assert_japanese_first(validate_ruleset(["not", "a", "mapping"], PARTNERS))


@pytest.mark.parametrize(("change", "rule", "field", "message"), CASES)
def test_each_kind_of_problem_is_japanese_first(change, rule, field, message):
    assert_japanese_first(problems_after(change))


@pytest.mark.parametrize("text", [
    "rules:\n  - id: a\n   when: x\n",
    '{"rules": [1,}',
    "- just\n- a list\n",
    "",
    "rules:\n  - id: a\n    when: {}\n    when: {}\n",
])
def test_unreadable_files_are_japanese_first(text):
    with pytest.raises(RuleSetInvalid) as raised:
        load_ruleset_text(text)
    assert_japanese_first(raised.value.problems)
    assert japanese_first(str(raised.value))
