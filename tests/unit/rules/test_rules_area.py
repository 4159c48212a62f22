"""Conditions on where the person lives: the 地区 and 小地域 codes the caller resolved."""

from __future__ import annotations

from datetime import date

from caseapp.rules import Subject, compile_ruleset, validate_ruleset

PARTNERS = ("center_a", "center_b", "jiritsu")
AREAS = {"T-D1": "district", "T-D2": "district", "T-S11": "small_area", "T-S21": "small_area"}
ON = date(2026, 11, 27)


def ruleset(*conditions) -> dict:
    rules = [{"id": f"r{i}", "when": when,
              "then": {"action": "suggest", "partners": [partner], "method": "info_only",
                       "reason": f"{partner} の地区にお住まいです。"}}
             for i, (when, partner) in enumerate(conditions)]
    rules.append({"id": "fallback", "fallback": True,
                  "then": {"action": "refer", "partners": ["jiritsu"], "method": "formal_request",
                           "reason": "相談員が受け止めます。"}})
    return {"version": "v1", "rules": rules}


def routed(data, **where) -> dict[str, tuple[str, list[str]]]:
    compiled = compile_ruleset(data, PARTNERS, AREAS)
    subject = Subject(topics=("other",), on=ON, **where)
    return {d.partner: (d.rule_id, list(d.matched)) for d in compiled.evaluate(subject)}


def test_the_district_decides_the_center_and_the_match_names_it():
    data = ruleset(({"fact": "district", "op": "eq", "value": "T-D1"}, "center_a"),
                   ({"fact": "district", "op": "in", "value": ["T-D2"]}, "center_b"))
    found = routed(data, district="T-D1", small_area="T-S11",
                   area_names={"T-D1": "久礼地域", "T-S11": "第1区"})
    assert found == {"center_a": ("r0", ["district is T-D1 (久礼地域)"]),
                     "jiritsu": ("fallback", ["no other rule made a referral (断らない)"])}
    assert set(routed(data, district="T-D2")) == {"center_b", "jiritsu"}


def test_an_unresolved_address_matches_no_area_rule_not_even_through_not():
    data = ruleset(({"fact": "district", "op": "eq", "value": "T-D1"}, "center_a"),
                   ({"not": {"fact": "district", "op": "eq", "value": "T-D1"}}, "center_b"))
    assert set(routed(data)) == {"jiritsu"}
    # Said outright, absence can be a condition.
    missing = ruleset(({"fact": "district", "op": "missing"}, "center_a"))
    assert set(routed(missing)) == {"center_a", "jiritsu"}
    assert set(routed(missing, district="T-D1")) == {"jiritsu"}


def test_a_small_area_condition_reads_the_small_area():
    data = ruleset(({"fact": "small_area", "op": "ne", "value": "T-S11"}, "center_a"))
    assert routed(data, district="T-D2", small_area="T-S21")["center_a"] == (
        "r0", ["small_area T-S21 not in [T-S11]"])
    assert set(routed(data, district="T-D1", small_area="T-S11")) == {"jiritsu"}
    # Placed only as far as the 地区: the 小地域 is unknown, so the rule does not fire.
    assert set(routed(data, district="T-D1")) == {"jiritsu"}


def test_area_codes_are_checked_against_the_municipalitys_areas():
    data = ruleset(({"fact": "district", "op": "eq", "value": "T-S11"}, "center_a"),
                   ({"fact": "small_area", "op": "in", "value": ["T-S11", "X-9"]}, "center_b"),
                   ({"fact": "district", "op": "eq", "value": 7}, "center_a"),
                   ({"fact": "district", "op": "gte", "value": "T-D1"}, "center_b"))
    problems = {(p.rule, p.field): p.message for p in validate_ruleset(data, PARTNERS, AREAS)}
    assert problems[("r0", "when.value")].startswith("'T-S11' は小地域のコードです")
    assert problems[("r1", "when.value[1]")].startswith("この市町村の小地域にないコードです")
    assert "地域のコードを文字列で" in problems[("r2", "when.value")]
    assert "gte" in problems[("r3", "when.op")]
    assert len(problems) == 4
    # Without the municipality's areas any code is accepted (e.g. `caseapp rules check`
    # before areas are loaded); the kind of value is still checked.
    assert [p.rule for p in validate_ruleset(data, PARTNERS)] == ["r2", "r3"]
