"""The fixed vocabulary of the counter: topic codes, urgencies, channels, methods and facts.

These names are part of the public contract (API.md, DESIGN.md); clients and rule files use them.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from caseapp.domain.vocab import EXCEPTIONS, ConsultationChannel, Urgency, values
from caseapp.rules.messages import ja

TOPICS: Mapping[str, str] = MappingProxyType({
    "health_disability": "病気や健康、障害のこと",
    "housing": "住まいについて",
    "income_living": "収入・生活費のこと",
    "rent_loan_arrears": "家賃やローンの支払いのこと",
    "tax_utility_arrears": "税金や公共料金等の支払いについて",
    "debt": "債務について",
    "job_seeking": "仕事探し、就職について",
    "work_trouble": "仕事上の不安やトラブル",
    "community_relations": "地域との関係について",
    "family_relations": "家族との関係について",
    "childcare": "子育てのこと",
    "elder_care": "介護のこと",
    "hikikomori_nonattendance": "ひきこもり・不登校",
    "dv_abuse": "DV・虐待",
    "no_food": "食べるものがない",
    "other": "その他",
})

# Ordered from least to most urgent: merging keeps the highest index.
URGENCIES = values(Urgency)
CHANNELS = values(ConsultationChannel)
METHODS = ("info_only", "intro_letter", "accompany", "formal_request")
ACTIONS = ("refer", "suggest")
HOUSING = ("stable", "at_risk", "lost")
BENEFITS = (
    "public_assistance",
    "child_rearing_allowance",
    "hardship_support",
    "disability_pension",
    "long_term_care",
)
# Exceptions to consent a rule may declare; consent itself is the default and needs no mark.
# life_safety: 個人情報保護法 §27(1)(ii); support_meeting: 生活困窮者自立支援法 §9.
LEGAL_BASES = tuple(basis.value for basis in EXCEPTIONS)

FACT_KEYS: Mapping[str, type] = MappingProxyType({
    "age": int,
    "household_size": int,
    "monthly_income": int,
    "savings": int,
    "employed": bool,
    "in_school": bool,
    "lost_work_within_2y": bool,
    "debts": list,
    "housing": str,
    "rent": int,
    "benefits": list,
    "wants_public_assistance": bool,
    "disability_certificate": bool,
    "reduced_cognitive_capacity": bool,
    "family_nearby": bool,
    "criminal_proceedings": bool,
    "minor_involved": bool,
})

DEBT_KEYS: Mapping[str, type] = MappingProxyType({
    "creditor": str,
    "principal": int,
    "in_arrears": bool,
})

_MINIMUM = {"age": 0, "household_size": 1}
_MAXIMUM = {"age": 150, "household_size": 50}
_MAX_DEBTS = 100


def _one_of(choices) -> str:
    listed = ", ".join(choices)
    return ja(f"次のいずれかを指定してください: {listed}", f"must be one of {listed}")


_BOOLEAN = ja("true か false で指定してください", "must be true or false")


def is_int(value: object) -> bool:
    """bool is an int subclass in Python; a JSON true is never a number here."""
    return isinstance(value, int) and not isinstance(value, bool)


def validate_facts(facts: object) -> dict[str, list[str]]:
    """Check a consultation's facts; returns {"facts.<path>": [messages]}, empty when fine.

    Paths are those of the request body (``facts.debts[0].principal``). A null value is
    accepted for any key and means "not known", exactly like leaving the key out.
    """
    if facts is None:
        return {}
    if not isinstance(facts, Mapping):
        return {"facts": [ja("オブジェクトで指定してください", "must be an object")]}
    errors: dict[str, list[str]] = {}
    for key, value in facts.items():
        path = f"facts.{key}"
        if key not in FACT_KEYS:
            errors.setdefault(path, []).append(ja("登録されていない項目です", "unknown fact"))
        elif value is not None:
            for sub_path, message in _check_fact(key, value):
                errors.setdefault(path + sub_path, []).append(message)
    return errors


def facts_json_schema() -> dict:
    """The facts as JSON Schema, from the same tables ``validate_facts`` checks against."""
    def one(key: str, expected: type) -> dict:
        if key == "debts":
            debt = {k: _JSON_TYPES[t] for k, t in DEBT_KEYS.items()}
            debt["principal"] = {**debt["principal"], "minimum": 0}
            return {"type": "array", "maxItems": _MAX_DEBTS, "items": {
                "type": "object", "properties": debt, "additionalProperties": False}}
        if key == "benefits":
            return {"type": "array", "items": {"type": "string", "enum": list(BENEFITS)}}
        if key == "housing":
            return {"type": "string", "enum": list(HOUSING)}
        schema = dict(_JSON_TYPES[expected])
        if expected is int:
            schema["minimum"] = _MINIMUM.get(key, 0)
            if key in _MAXIMUM:
                schema["maximum"] = _MAXIMUM[key]
        return schema

    properties = {key: {**one(key, expected), "nullable": True}
                  for key, expected in FACT_KEYS.items()}
    return {"type": "object", "properties": properties, "additionalProperties": False}


_JSON_TYPES = {int: {"type": "integer"}, bool: {"type": "boolean"}, str: {"type": "string"}}


def _check_fact(key: str, value: object) -> list[tuple[str, str]]:
    expected = FACT_KEYS[key]
    if key == "debts":
        return _check_debts(value)
    if key == "benefits":
        return _check_choice_list(value, BENEFITS)
    if key == "housing":
        return [] if value in HOUSING else [("", _one_of(HOUSING))]
    if expected is bool:
        return [] if isinstance(value, bool) else [("", _BOOLEAN)]
    if not is_int(value):
        return [("", ja("整数で指定してください", "must be an integer"))]
    low, high = _MINIMUM.get(key, 0), _MAXIMUM.get(key)
    if value < low or (high is not None and value > high):
        if high is None:
            return [("", ja(f"{low} 以上にしてください", f"must be at least {low}"))]
        return [("", ja(f"{low}〜{high} にしてください", f"must be between {low} and {high}"))]
    return []


def _check_choice_list(value: object, choices: tuple[str, ...]) -> list[tuple[str, str]]:
    if not isinstance(value, list):
        return [("", ja("配列で指定してください", "must be a list"))]
    return [(f"[{i}]", _one_of(choices))
            for i, item in enumerate(value) if item not in choices]


def _check_debts(value: object) -> list[tuple[str, str]]:
    if not isinstance(value, list):
        return [("", ja("債務の配列で指定してください", "must be a list of debts"))]
    if len(value) > _MAX_DEBTS:
        return [("", ja(f"債務は {_MAX_DEBTS} 件までです", f"at most {_MAX_DEBTS} debts"))]
    problems = []
    for i, debt in enumerate(value):
        if not isinstance(debt, Mapping):
            problems.append((f"[{i}]", ja("オブジェクトで指定してください", "must be an object")))
            continue
        for key, item in debt.items():
            problems.extend((f"[{i}].{key}", m) for m in _check_debt_item(key, item))
    return problems


def _check_debt_item(key: str, item: object) -> list[str]:
    if key not in DEBT_KEYS:
        return [ja("この項目は受け付けていません", "unknown field")]
    if item is None:
        return []
    expected = DEBT_KEYS[key]
    if expected is int:
        return [] if is_int(item) and item >= 0 else [
            ja("0 以上の整数で指定してください", "must be a non-negative integer")]
    if not isinstance(item, expected):
        return [_BOOLEAN if expected is bool else ja("文字列で指定してください", "must be text")]
    return []
