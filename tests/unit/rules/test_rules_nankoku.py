"""The shipped Nankoku rule set, intent by intent, with realistic consultations."""

from __future__ import annotations

import random
from datetime import date

import pytest

from caseapp.rules import (
    BENEFITS,
    HOUSING,
    NANKOKU_PARTNERS,
    TOPICS,
    Decision,
    Subject,
    compile_ruleset,
    nankoku_ruleset_data,
    validate_ruleset,
)

ON = date(2026, 11, 27)
NANKOKU = compile_ruleset(nankoku_ruleset_data(), NANKOKU_PARTNERS)

# NETWORK.md intent number -> rule ids implementing it (docs/rules.md has the same table).
INTENT_RULES = {
    1: ["emergency", "emergency_keywords"],
    2: ["public_assistance_wish", "public_assistance_mention"],
    3: ["elderly"],
    4: ["youth_employment"],
    5: ["employment_support"],
    6: ["legal_aid_means_test", "legal_aid_means_unknown"],
    7: ["debt_scrivener", "debt_lawyer"],
    8: ["legal_assisted"],
    9: ["housing_security"],
    10: ["emergency_loan"],
    11: ["youth_support"],
    12: ["criminal_justice_exit", "criminal_justice_inform"],
    13: ["isolation_listening"],
    14: ["support_meeting"],
    15: ["fallback"],
}


def route(topics=(), summary="", urgency="normal", channel="window", birth_date=None,
          on=ON, **facts) -> dict[str, Decision]:
    subject = Subject(topics=tuple(topics), urgency=urgency, channel=channel, summary=summary,
                      facts=facts, birth_date=birth_date, on=on)
    decisions = NANKOKU.evaluate(subject)
    assert len({d.partner for d in decisions}) == len(decisions), "one decision per partner"
    return {d.partner: d for d in decisions}


def referred(result: dict[str, Decision]) -> set[str]:
    return {p for p, d in result.items() if d.action == "refer"}


def suggested(result: dict[str, Decision]) -> set[str]:
    return {p for p, d in result.items() if d.action == "suggest"}


# -- the set itself ----------------------------------------------------------------------

def test_shipped_set_is_valid_and_versioned():
    assert validate_ruleset(nankoku_ruleset_data(), NANKOKU_PARTNERS) == []
    assert NANKOKU.version == "nankoku-2026.2"


def test_every_intent_has_its_rules():
    ids = [rule["id"] for rule in NANKOKU.rules]
    for intent, rule_ids in INTENT_RULES.items():
        for rule_id in rule_ids:
            assert rule_id in ids, f"intent {intent}: rule {rule_id} missing"


def test_legal_aid_table_holds_the_published_limits():
    table = nankoku_ruleset_data()["tables"]["legal_aid_income"]
    assert table["rows"] == {1: 182000, 2: 251000, 3: 272000, 4: 299000}
    assert table["each_further"] == 30000
    assert nankoku_ruleset_data()["tables"]["scrivener_limit"] == 1_400_000


def test_kenritsu_daigaku_is_never_a_target_of_any_rule():
    partners = {p for rule in NANKOKU.rules for p in rule["then"]["partners"]}
    assert "kenritsu_daigaku" not in partners
    assert partners == set(NANKOKU_PARTNERS) - {"kenritsu_daigaku"}


def _random_subject(rng: random.Random) -> Subject:
    facts = {}
    if rng.random() < 0.7:
        facts = {"age": rng.randint(0, 100), "household_size": rng.randint(1, 7),
                 "monthly_income": rng.randrange(0, 500_000, 500),
                 "savings": rng.randrange(0, 4_000_000, 1000),
                 "housing": rng.choice(HOUSING), "benefits": rng.sample(BENEFITS, 2),
                 "debts": [{"principal": rng.randrange(0, 3_000_000)}] * rng.randint(0, 2)}
        for name in ("employed", "in_school", "lost_work_within_2y", "wants_public_assistance",
                     "disability_certificate", "reduced_cognitive_capacity", "family_nearby",
                     "criminal_proceedings", "minor_involved"):
            if rng.random() < 0.5:
                facts[name] = rng.random() < 0.5
    return Subject(topics=tuple(rng.sample(sorted(TOPICS), rng.randint(0, 4))),
                   urgency=rng.choice(("normal", "urgent", "emergency")),
                   summary=rng.choice(("", "話を聞いてほしい", "借金がある", "給料日まで苦しい")),
                   facts=facts, on=ON)


def test_never_refuses_and_never_routes_the_university():
    rng = random.Random(2026)
    for _ in range(500):
        decisions = NANKOKU.evaluate(_random_subject(rng))
        assert any(d.action == "refer" for d in decisions)
        assert all(d.partner != "kenritsu_daigaku" for d in decisions)


# -- 1. emergency --------------------------------------------------------------------------

def test_no_food_is_an_emergency_for_both_jiritsu_and_the_welfare_office():
    result = route(["no_food", "income_living"], summary="所持金が尽きて三日食べていない")
    for partner in ("jiritsu", "fukushi_jimusho"):
        decision = result[partner]
        assert (decision.action, decision.rule_id) == ("refer", "emergency")
        assert decision.urgency == "emergency"
        assert decision.legal_basis == "life_safety"
        assert decision.method == "accompany"
        assert "topics include [no_food]" in decision.matched


def test_staff_marked_emergency_without_topics_routes_as_emergency():
    result = route(urgency="emergency", channel="event")
    assert referred(result) == {"jiritsu", "fukushi_jimusho"}
    assert result["jiritsu"].matched == ("urgency is emergency",)


def test_lost_home_is_an_emergency_and_housing_security_joins_it():
    result = route(["housing"], housing="lost", lost_work_within_2y=True)
    assert result["jiritsu"].rule_id == "emergency"
    assert "housing_security" in result["jiritsu"].also
    assert result["fukushi_jimusho"].urgency == "emergency"


def test_home_at_risk_is_not_an_emergency():
    result = route(["housing"], housing="at_risk")
    assert "fukushi_jimusho" not in result
    assert result["jiritsu"].urgency is None


def test_danger_to_life_reaches_the_hokenjo_and_the_coordinator_with_its_reason():
    # Words of danger to life: the block's 福祉保健所 (精神保健福祉相談) and the coordinator,
    # under the danger rule's own reason rather than the generic "no rule fits".
    result = route(["family_relations"], summary="もう死にたいと話している")
    for code in ("hokenjo", "jiritsu"):
        decision = result[code]
        assert (decision.action, decision.rule_id) == ("refer", "danger_to_life")
        assert decision.urgency == "emergency"
        assert "福祉保健所" in decision.reason and "精神保健福祉相談" in decision.reason
        assert decision.legal_basis is None  # words alone never justify sharing without consent
    assert "fukushi_jimusho" not in result


def test_the_danger_is_named_with_its_rule_and_words():
    _decisions, dangers = NANKOKU.assess(Subject(
        topics=("health_disability",), summary="もう 死にたい。夫に殴られている", on=ON))
    assert [(d.rule_id, d.words) for d in dangers] == [("danger_to_life", ("死にたい", "殴られ"))]


def test_no_roof_tonight_is_still_a_keyword_flag_for_staff():
    result = route(["housing"], summary="今夜寝る場所がない")
    assert result["jiritsu"].urgency == "emergency"
    assert "hokenjo" not in result


# -- 2. public assistance ------------------------------------------------------------------

def test_public_assistance_wish_is_never_screened_by_means():
    result = route(["income_living"], wants_public_assistance=True, monthly_income=450_000,
                   savings=5_000_000, household_size=1, employed=True)
    decision = result["fukushi_jimusho"]
    assert (decision.action, decision.method) == ("refer", "accompany")
    assert decision.rule_id == "public_assistance_wish"


def test_no_wish_no_welfare_office():
    assert "fukushi_jimusho" not in route(["income_living"], wants_public_assistance=False)


def test_wish_only_in_the_summary_is_a_suggestion():
    result = route(["income_living"], summary="生活保護を申請したいが窓口が怖い")
    assert suggested(result) == {"fukushi_jimusho"}
    assert result["fukushi_jimusho"].method == "accompany"
    assert referred(result) == {"jiritsu"}  # suggestions alone don't count as routed


def test_emergency_and_wish_merge_into_one_welfare_office_decision():
    result = route(["no_food"], wants_public_assistance=True)
    decision = result["fukushi_jimusho"]
    assert decision.rule_id == "emergency"
    assert decision.also == ("public_assistance_wish",)


# -- 3. elderly ----------------------------------------------------------------------------

@pytest.mark.parametrize(("age", "expected"), [(64, False), (65, True), (90, True)])
def test_houkatsu_from_age_65(age, expected):
    assert ("houkatsu" in route(["health_disability"], age=age)) is expected


def test_houkatsu_matched_names_the_age():
    assert route(age=74)["houkatsu"].matched == ("age 74 >= 65",)


def test_caring_for_an_elder_goes_to_houkatsu_at_any_age():
    result = route(["elder_care"], age=45, summary="父の介護で仕事を休みがち")
    assert result["houkatsu"].action == "refer"


@pytest.mark.parametrize(("born", "expected"), [
    (date(1961, 11, 26), True),   # 65th birthday was yesterday
    (date(1961, 11, 27), True),   # 65 today
    (date(1961, 11, 28), False),  # 65 tomorrow: still 64
])
def test_age_from_birth_date_when_facts_have_none(born, expected):
    assert ("houkatsu" in route(birth_date=born)) is expected


def test_facts_age_wins_over_birth_date():
    assert "houkatsu" not in route(age=60, birth_date=date(1950, 1, 1))


def test_no_age_at_all_is_not_elderly():
    assert "houkatsu" not in route(["health_disability"])


# -- 4. youth employment -------------------------------------------------------------------

@pytest.mark.parametrize(("age", "expected"), [(14, False), (15, True), (49, True), (50, False)])
def test_saposute_for_15_to_49(age, expected):
    result = route(["job_seeking"], age=age, employed=False, in_school=False)
    assert ("saposute" in result) is expected


@pytest.mark.parametrize("facts", [
    {"employed": True, "in_school": False},
    {"employed": False, "in_school": True},
    {"employed": False},  # school unknown: not enough to refer
])
def test_saposute_needs_not_working_and_not_in_school(facts):
    assert "saposute" not in route(["job_seeking"], age=24, **facts)


def test_saposute_age_from_birth_date():
    result = route(birth_date=date(2011, 11, 26), employed=False, in_school=False)
    assert result["saposute"].matched[0] == "age 15 between 15 and 49"
    assert "saposute" not in route(birth_date=date(2011, 11, 28), employed=False,
                                   in_school=False)


# -- 5. employment with benefits -----------------------------------------------------------

@pytest.mark.parametrize("benefit", ["public_assistance", "child_rearing_allowance",
                                     "hardship_support"])
def test_hellowork_for_job_seekers_on_benefits(benefit):
    result = route(["job_seeking"], benefits=[benefit], age=38, employed=False)
    assert result["hellowork"].action == "refer"
    assert result["hellowork"].method == "formal_request"


def test_the_joint_programme_needs_a_qualifying_benefit():
    # Job seeking alone still reaches ハローワーク (job_loss), but not its joint programme.
    assert route(["job_seeking"], benefits=["disability_pension"])["hellowork"].rule_id \
        == "job_loss"
    assert route(["job_seeking"])["hellowork"].rule_id == "job_loss"
    assert "hellowork" not in route(["income_living"], benefits=["public_assistance"])


# -- 6. legal aid means test ---------------------------------------------------------------

MEANS_LIMITS = [(1, 182_000), (2, 251_000), (3, 272_000), (4, 299_000), (5, 329_000),
                (6, 359_000)]


@pytest.mark.parametrize(("household", "limit"), MEANS_LIMITS)
def test_houterasu_at_the_income_limit(household, limit):
    result = route(["debt"], household_size=household, monthly_income=limit)
    assert result["houterasu"].action == "refer"
    assert result["houterasu"].rule_id == "legal_aid_means_test"


@pytest.mark.parametrize(("household", "limit"), MEANS_LIMITS)
def test_no_houterasu_one_yen_over_the_limit(household, limit):
    result = route(["debt"], household_size=household, monthly_income=limit + 1)
    assert "houterasu" not in result


def test_means_test_matched_shows_the_table_row():
    result = route(["debt"], household_size=2, monthly_income=200_000)
    assert ("monthly_income 200000 <= legal_aid_income[household_size=2] 251000"
            in result["houterasu"].matched)


def test_debts_in_facts_count_as_debt_without_the_topic():
    result = route(["income_living"], household_size=1, monthly_income=120_000,
                   debts=[{"creditor": "消費者金融A", "principal": 300_000, "in_arrears": True}])
    assert result["houterasu"].action == "refer"


def test_legal_trouble_by_keyword():
    result = route(["family_relations"], summary="離婚と養育費の取り決めで揉めている",
                   household_size=3, monthly_income=210_000)
    assert result["houterasu"].rule_id == "legal_aid_means_test"


def test_assets_over_the_limit_exclude_legal_aid():
    assert "houterasu" not in route(["debt"], household_size=1, monthly_income=100_000,
                                    savings=1_800_001)
    assert "houterasu" in route(["debt"], household_size=1, monthly_income=100_000,
                                savings=1_800_000)


def test_unknown_means_is_a_suggestion_and_jiritsu_still_refers():
    result = route(["debt"], summary="借金の返済がつらい")
    assert suggested(result) == {"houterasu"}
    assert result["houterasu"].rule_id == "legal_aid_means_unknown"
    assert referred(result) == {"jiritsu"}
    assert result["jiritsu"].rule_id == "fallback"


def test_low_income_without_legal_trouble_is_not_houterasu():
    assert "houterasu" not in route(["income_living"], household_size=1, monthly_income=90_000)


# -- 7. scrivener or lawyer ----------------------------------------------------------------

def test_principal_at_the_limit_goes_to_the_scrivener():
    result = route(["debt"], debts=[{"creditor": "A社", "principal": 1_400_000}])
    assert "shihoshoshi" in referred(result)
    assert "bengoshi" not in result


def test_principal_one_yen_over_goes_to_the_lawyer():
    result = route(["debt"], debts=[{"creditor": "A社", "principal": 1_400_001}])
    assert "bengoshi" in referred(result)
    assert "shihoshoshi" not in result


def test_mixed_creditors_go_to_the_lawyer_only():
    result = route(["debt"], debts=[{"creditor": "A社", "principal": 500_000},
                                    {"creditor": "B銀行", "principal": 2_000_000}])
    assert "bengoshi" in referred(result)
    assert "shihoshoshi" not in result
    assert result["bengoshi"].matched == (
        "any_debt_principal [500000, 2000000] > scrivener_limit 1400000",)


def test_several_small_creditors_go_to_the_scrivener():
    debts = [{"creditor": c, "principal": 400_000} for c in ("A社", "B社", "C社")]
    result = route(["debt"], debts=debts)
    assert result["shihoshoshi"].rule_id == "debt_scrivener"


def test_unknown_principal_blocks_the_scrivener_but_not_the_lawyer():
    unknown = {"creditor": "知人"}
    assert "shihoshoshi" not in route(["debt"], debts=[unknown])
    assert "shihoshoshi" not in route(["debt"], debts=[unknown, {"principal": 100_000}])
    result = route(["debt"], debts=[unknown, {"principal": 2_000_000}])
    assert "bengoshi" in referred(result)


def test_no_creditors_listed_is_neither():
    result = route(["debt"], debts=[])
    assert "shihoshoshi" not in result and "bengoshi" not in result


# -- 8. assisted legal consultation ---------------------------------------------------------

def test_reduced_capacity_alone_gets_houterasu_regardless_of_means():
    result = route(["debt"], age=82, household_size=1, monthly_income=400_000,
                   reduced_cognitive_capacity=True, family_nearby=False,
                   summary="認知症の疑いがあり、高額な契約トラブルに巻き込まれている")
    decision = result["houterasu"]
    assert (decision.rule_id, decision.method) == ("legal_assisted", "accompany")


@pytest.mark.parametrize("family", [{"family_nearby": True}, {}])
def test_assisted_consultation_needs_no_family_nearby(family):
    result = route(["debt"], household_size=1, monthly_income=400_000,
                   reduced_cognitive_capacity=True, **family)
    assert "houterasu" not in result


def test_assisted_rule_comes_first_and_means_test_is_in_also():
    result = route(["debt"], household_size=1, monthly_income=100_000,
                   reduced_cognitive_capacity=True, family_nearby=False)
    assert result["houterasu"].rule_id == "legal_assisted"
    assert result["houterasu"].also == ("legal_aid_means_test",)


# -- 9. housing security -------------------------------------------------------------------

def test_rent_arrears_after_losing_work():
    result = route(["rent_loan_arrears"], lost_work_within_2y=True, rent=48_000)
    assert result["jiritsu"].rule_id == "housing_security"
    assert result["jiritsu"].method == "formal_request"


def test_home_at_risk_after_losing_work():
    result = route(["job_seeking"], housing="at_risk", lost_work_within_2y=True)
    assert result["jiritsu"].rule_id == "housing_security"


@pytest.mark.parametrize("facts", [{"lost_work_within_2y": False}, {}])
def test_rent_arrears_without_lost_work_is_not_housing_security(facts):
    result = route(["rent_loan_arrears"], **facts)
    assert result["jiritsu"].rule_id == "fallback"


# -- 10. emergency small loan ---------------------------------------------------------------

def test_cash_gap_until_payday_in_a_low_income_household():
    result = route(["income_living"], summary="給料日まで生活費が足りない",
                   household_size=2, monthly_income=180_000)
    assert result["shakyo_loan"].action == "refer"


def test_cash_gap_in_a_disabled_household_regardless_of_income():
    result = route(["income_living"], savings=30_000, disability_certificate=True,
                   household_size=2, monthly_income=400_000)
    assert "shakyo_loan" in referred(result)


def test_cash_gap_in_an_elderly_household():
    result = route(["tax_utility_arrears"], savings=20_000, age=72)
    assert "shakyo_loan" in referred(result)


@pytest.mark.parametrize(("income", "expected"), [(182_000, True), (182_001, False)])
def test_low_income_line_for_the_loan(income, expected):
    result = route(["income_living"], summary="給料日まで苦しい", household_size=1,
                   monthly_income=income, age=40, disability_certificate=False, benefits=[])
    assert ("shakyo_loan" in result) is expected


def test_savings_at_the_line_are_no_cash_gap():
    assert "shakyo_loan" not in route(["income_living"], savings=100_000, age=70)
    assert "shakyo_loan" in route(["income_living"], savings=99_999, age=70)


def test_public_assistance_households_are_not_offered_the_loan():
    result = route(["income_living"], summary="給料日まで", household_size=1,
                   monthly_income=100_000, benefits=["public_assistance"])
    assert "shakyo_loan" not in result


# -- 11. young people ----------------------------------------------------------------------

def test_delinquency_is_a_suggestion_to_shonen_support():
    result = route(["childcare"], summary="中学生の息子が万引きで補導された", minor_involved=True)
    assert suggested(result) == {"shonen_support"}
    assert referred(result) == {"jiritsu"}


def test_violence_at_home_by_a_child():
    result = route(["family_relations"], summary="高校生の娘が家で暴れて物を壊す",
                   minor_involved=True)
    assert result["shonen_support"].action == "suggest"


def test_violence_without_a_minor_is_not_shonen_support():
    assert "shonen_support" not in route(["family_relations"], summary="夫が暴れる",
                                         minor_involved=False)


def test_nonattendance_with_a_minor():
    result = route(["hikikomori_nonattendance"], minor_involved=True, summary="不登校が半年続く")
    assert "shonen_support" in suggested(result)
    adult = route(["hikikomori_nonattendance"], minor_involved=False, age=35)
    assert "shonen_support" not in adult
    assert "attaka" in suggested(adult)


# -- 12. criminal justice exit -------------------------------------------------------------

def test_leaving_criminal_proceedings():
    result = route(["housing", "job_seeking"], criminal_proceedings=True, age=58)
    assert result["jiritsu"].rule_id == "criminal_justice_exit"
    assert (result["kensatsu"].action, result["kensatsu"].method) == ("refer", "info_only")


def test_no_kensatsu_without_criminal_proceedings():
    assert "kensatsu" not in route(["housing"], criminal_proceedings=False)


# -- 13. isolation -------------------------------------------------------------------------

def test_community_relations_suggests_listening_volunteers_and_minsei():
    result = route(["community_relations"], age=58)
    assert suggested(result) >= {"keicho", "minsei"}
    assert result["keicho"].rule_id == "isolation_listening"
    assert referred(result) == {"jiritsu"}


@pytest.mark.parametrize("summary", ["とにかく話を 聞いて ほしい", "誰も話し相手がいない",
                                     "夫を亡くしてから寂しい"])
def test_wanting_to_be_listened_to(summary):
    result = route(["other"], summary=summary)
    assert {"keicho", "minsei"} <= suggested(result)


# -- 14. support meeting -------------------------------------------------------------------

def test_three_topics_call_a_support_meeting():
    result = route(["debt", "income_living", "health_disability"])
    assert result["jiritsu"].rule_id == "support_meeting"
    assert result["jiritsu"].matched[0] == "topic_count 3 >= 3"


def test_two_unrelated_topics_do_not():
    assert route(["debt", "income_living"])["jiritsu"].rule_id != "support_meeting"


def test_8050_household_calls_a_support_meeting():
    result = route(["elder_care", "hikikomori_nonattendance"], age=81)
    assert result["jiritsu"].rule_id == "support_meeting"


def test_full_width_digits_in_the_summary_match():
    result = route(["family_relations"], summary="いわゆる８０５０問題です")
    assert result["jiritsu"].rule_id == "support_meeting"


# -- 15. fallback --------------------------------------------------------------------------

def test_anonymous_with_nothing_goes_to_jiritsu():
    result = NANKOKU.evaluate(Subject(topics=(), on=ON))
    assert [(d.partner, d.action, d.rule_id) for d in result] == [
        ("jiritsu", "refer", "fallback")]


@pytest.mark.parametrize("topic", ["other", "dv_abuse", "work_trouble"])
def test_topics_without_a_rule_go_to_jiritsu(topic):
    result = route([topic])
    assert referred(result) == {"jiritsu"}
    assert result["jiritsu"].rule_id == "fallback"


def test_a_referral_elsewhere_means_no_fallback():
    result = route(age=70)
    assert set(result) == {"houkatsu"}


# -- routing fidelity (NETWORK.md, second-wave corrections) ---------------------------------


def test_job_loss_alone_reaches_hellowork():
    # A 35-year-old who lost work and cannot pay rent: benefits are not what opens the door to
    # 雇用保険, 求職者支援制度 and placement.
    result = route(["rent_loan_arrears"], age=35, lost_work_within_2y=True)
    assert result["hellowork"].action == "refer"
    assert result["hellowork"].rule_id == "job_loss"
    assert "雇用保険" in result["hellowork"].reason
    assert result["jiritsu"].rule_id == "housing_security"


def test_a_student_looking_for_a_part_time_job_is_not_sent_to_hellowork_for_job_loss():
    assert "hellowork" not in route(["job_seeking"], in_school=True)


@pytest.mark.parametrize("summary", ["訪問販売で高額な布団を買わされた",
                                     "悪質商法の被害にあったかもしれない",
                                     "架空請求のはがきが届いた"])
def test_consumer_trouble_reaches_houterasu_like_contract_trouble(summary):
    within = route(["other"], summary=summary, monthly_income=120_000, household_size=1)
    contract = route(["other"], summary="契約トラブル", monthly_income=120_000, household_size=1)
    assert within["houterasu"].rule_id == contract["houterasu"].rule_id == "legal_aid_means_test"
    assert route(["other"], summary=summary)["houterasu"].rule_id == "legal_aid_means_unknown"


def test_child_raising_alone_goes_to_the_welfare_office_family_counselling():
    result = route(["childcare"], summary="子どもの夜泣きが続いて育児がつらい")
    assert result["fukushi_jimusho"].action == "refer"
    assert result["fukushi_jimusho"].rule_id == "childcare_only"
    assert "家庭児童相談室" in result["fukushi_jimusho"].reason
    assert suggested(result) == {"minsei"}
    assert "jiritsu" not in result  # a specialist took it: the fallback is not needed


def test_child_raising_among_other_worries_is_not_only_childcare():
    assert "fukushi_jimusho" not in route(["childcare", "income_living"])
