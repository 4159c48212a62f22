"""The fixed vocabulary of the counter: topic codes, urgencies, channels, methods and facts.

These names are part of the public contract (API.md, DESIGN.md); clients and rule files use them.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from caseapp.domain.vocab import EXCEPTIONS, ConsultationChannel, Urgency, values

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
        return {"facts": ["must be an object"]}
    errors: dict[str, list[str]] = {}
    for key, value in facts.items():
        path = f"facts.{key}"
        if key not in FACT_KEYS:
            errors.setdefault(path, []).append("unknown fact")
        elif value is not None:
            for sub_path, message in _check_fact(key, value):
                errors.setdefault(path + sub_path, []).append(message)
    return errors


def _check_fact(key: str, value: object) -> list[tuple[str, str]]:
    expected = FACT_KEYS[key]
    if key == "debts":
        return _check_debts(value)
    if key == "benefits":
        return _check_choice_list(value, BENEFITS)
    if key == "housing":
        return [] if value in HOUSING else [("", f"must be one of {', '.join(HOUSING)}")]
    if expected is bool:
        return [] if isinstance(value, bool) else [("", "must be true or false")]
    if not is_int(value):
        return [("", "must be an integer")]
    low, high = _MINIMUM.get(key, 0), _MAXIMUM.get(key)
    if value < low or (high is not None and value > high):
        bound = f"between {low} and {high}" if high is not None else f"at least {low}"
        return [("", f"must be {bound}")]
    return []


def _check_choice_list(value: object, choices: tuple[str, ...]) -> list[tuple[str, str]]:
    if not isinstance(value, list):
        return [("", "must be a list")]
    return [(f"[{i}]", f"must be one of {', '.join(choices)}")
            for i, item in enumerate(value) if item not in choices]


def _check_debts(value: object) -> list[tuple[str, str]]:
    if not isinstance(value, list):
        return [("", "must be a list of debts")]
    if len(value) > _MAX_DEBTS:
        return [("", f"at most {_MAX_DEBTS} debts")]
    problems = []
    for i, debt in enumerate(value):
        if not isinstance(debt, Mapping):
            problems.append((f"[{i}]", "must be an object"))
            continue
        for key, item in debt.items():
            problems.extend((f"[{i}].{key}", m) for m in _check_debt_item(key, item))
    return problems


def _check_debt_item(key: str, item: object) -> list[str]:
    if key not in DEBT_KEYS:
        return ["unknown field"]
    if item is None:
        return []
    expected = DEBT_KEYS[key]
    if expected is int:
        return [] if is_int(item) and item >= 0 else ["must be a non-negative integer"]
    if not isinstance(item, expected):
        return ["must be true or false" if expected is bool else "must be text"]
    return []
