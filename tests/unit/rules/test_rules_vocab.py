"""The fixed vocabulary and the facts check the API uses to answer 422."""

from __future__ import annotations

import re

import pytest

from caseapp.rules import (
    CHANNELS,
    FACT_KEYS,
    METHODS,
    NANKOKU_PARTNERS,
    TOPICS,
    URGENCIES,
    validate_facts,
)


def test_topic_codes_and_labels_follow_the_national_intake_form():
    assert list(TOPICS) == [
        "health_disability", "housing", "income_living", "rent_loan_arrears",
        "tax_utility_arrears", "debt", "job_seeking", "work_trouble", "community_relations",
        "family_relations", "childcare", "elder_care", "hikikomori_nonattendance", "dv_abuse",
        "no_food", "other"]
    assert TOPICS["rent_loan_arrears"] == "家賃やローンの支払いのこと"
    assert TOPICS["hikikomori_nonattendance"] == "ひきこもり・不登校"
    assert TOPICS["no_food"] == "食べるものがない"
    with pytest.raises(TypeError):
        TOPICS["x"] = "y"  # type: ignore[index]


def test_fixed_tuples():
    assert URGENCIES == ("normal", "urgent", "emergency")
    assert CHANNELS == ("window", "phone", "visit", "outreach", "event")
    assert METHODS == ("info_only", "intro_letter", "accompany", "formal_request")
    assert len(NANKOKU_PARTNERS) == 16 == len(set(NANKOKU_PARTNERS))


def test_fact_keys_are_those_of_the_api_with_their_types():
    assert dict(FACT_KEYS) == {
        "age": int, "household_size": int, "monthly_income": int, "savings": int,
        "employed": bool, "in_school": bool, "lost_work_within_2y": bool, "debts": list,
        "housing": str, "rent": int, "benefits": list, "wants_public_assistance": bool,
        "disability_certificate": bool, "reduced_cognitive_capacity": bool,
        "family_nearby": bool, "criminal_proceedings": bool, "minor_involved": bool}


def test_the_api_example_is_valid():
    facts = {"age": 74, "household_size": 1, "monthly_income": 90000,
             "debts": [{"creditor": "A社", "principal": 800000}]}
    assert validate_facts(facts) == {}


def test_every_fact_at_once_is_valid():
    facts = {"age": 0, "household_size": 1, "monthly_income": 0, "savings": 0, "rent": 0,
             "employed": False, "in_school": True, "lost_work_within_2y": True,
             "housing": "at_risk", "benefits": ["public_assistance", "long_term_care"],
             "wants_public_assistance": True, "disability_certificate": False,
             "reduced_cognitive_capacity": False, "family_nearby": True,
             "criminal_proceedings": False, "minor_involved": False,
             "debts": [{"creditor": "B", "principal": 0, "in_arrears": True}, {}]}
    assert validate_facts(facts) == {}


def test_absent_or_null_means_unknown():
    assert validate_facts(None) == {}
    assert validate_facts({}) == {}
    assert validate_facts({"age": None, "debts": [{"principal": None}]}) == {}


@pytest.mark.parametrize(("facts", "errors"), [
    ("age 74", {"facts": ["must be an object"]}),
    ({"income": 1}, {"facts.income": ["unknown fact"]}),
    ({"age": "74"}, {"facts.age": ["must be an integer"]}),
    ({"age": True}, {"facts.age": ["must be an integer"]}),
    ({"age": 74.0}, {"facts.age": ["must be an integer"]}),
    ({"age": 151}, {"facts.age": ["must be between 0 and 150"]}),
    ({"household_size": 0}, {"facts.household_size": ["must be between 1 and 50"]}),
    ({"monthly_income": -1}, {"facts.monthly_income": ["must be at least 0"]}),
    ({"employed": 1}, {"facts.employed": ["must be true or false"]}),
    ({"housing": "homeless"}, {"facts.housing": ["must be one of stable, at_risk, lost"]}),
    ({"benefits": "public_assistance"}, {"facts.benefits": ["must be a list"]}),
    ({"benefits": ["public_assistance", "pension"]},
     {"facts.benefits[1]": ["must be one of public_assistance, child_rearing_allowance, "
                            "hardship_support, disability_pension, long_term_care"]}),
    ({"debts": {"creditor": "A"}}, {"facts.debts": ["must be a list of debts"]}),
    ({"debts": [{"principal": -5}, "A社", {"interest": 3, "in_arrears": "yes", "creditor": 1}]},
     {"facts.debts[0].principal": ["must be a non-negative integer"],
      "facts.debts[1]": ["must be an object"],
      "facts.debts[2].interest": ["unknown field"],
      "facts.debts[2].in_arrears": ["must be true or false"],
      "facts.debts[2].creditor": ["must be text"]}),
    ({"debts": [{}] * 101}, {"facts.debts": ["at most 100 debts"]}),
])
def test_invalid_facts_are_named_by_path(facts, errors):
    got = validate_facts(facts)
    # Japanese first, the English in brackets after it.
    english = {path: [m.rsplit("（", 1)[1].removesuffix("）") for m in messages]
               for path, messages in got.items()}
    assert english == errors
    assert all(re.search(r"[\u3040-\u30ff\u4e00-\u9fff]", m)
               for messages in got.values() for m in messages)


def test_several_bad_facts_are_all_reported():
    errors = validate_facts({"age": -1, "savings": "many", "pets": 2})
    assert set(errors) == {"facts.age", "facts.savings", "facts.pets"}
