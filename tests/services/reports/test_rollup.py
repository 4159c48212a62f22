"""The monthly report's rollup: closed months read from it answer exactly as the base tables,
for every municipality on its own and for all of them together."""

from contextlib import contextmanager
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import insert, select, update

from caseapp.domain.community import AreaLevel
from caseapp.models import (
    Area,
    Case,
    Client,
    Consultation,
    ConsultationTopic,
    Referral,
    ReferralEvent,
    ReportMonthRollup,
)
from caseapp.services.community import areas
from caseapp.services.core import scope
from caseapp.services.core.actors import Actor
from caseapp.services.network import seed
from caseapp.services.reports import layers, monthly, rollup
from tests.api.test_reports import dataset  # noqa: F401  (the hand-counted data set)

JST = ZoneInfo("Asia/Tokyo")
NOW = datetime(2026, 12, 15, 12, tzinfo=JST)  # September to November are closed
PERIOD = monthly.Period.months("2026-09", "2026-12")
CLOSED = ["2026-09", "2026-10", "2026-11"]
R = ReportMonthRollup


def from_base(session) -> dict:
    """The report with the rollup ignored, as it was before there was one."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(rollup, "fresh", lambda *_args: {})
        return report(session)


def report(session) -> dict:
    data = monthly.monthly(session, PERIOD, 46000, NOW)
    data["steps"] = monthly.referral_funnel(session, PERIOD, now=NOW)
    return data


@contextmanager
def scoped(session, name: str):
    town = areas.municipality(session, name).id
    scope.enter(session, scope.for_municipality(session, town))
    try:
        yield town
    finally:
        scope.leave(session)


def fresh(session, part="figures") -> dict[str, list[str]]:
    """The up-to-date months of a part: for all municipalities together, and for Nankoku."""
    found = {"all": sorted(rollup.fresh(session, CLOSED, part))}
    with scoped(session, "nankoku"):
        found["nankoku"] = sorted(rollup.fresh(session, CLOSED, part))
    return found


def both(months: list[str]) -> dict[str, list[str]]:
    return {"all": months, "nankoku": months}


def assert_rollup_answers_as_the_base_tables(session) -> None:
    assert report(session) == from_base(session)
    with scoped(session, "nankoku"):
        assert report(session) == from_base(session)


def stored(session) -> list[tuple]:
    return list(session.execute(select(R.municipality_id, R.month, R.figures, R.built_seq,
                                       R.referral_figures, R.referral_built_seq)
                                .order_by(R.month, R.municipality_id)))


def test_rollup_backed_report_equals_the_base_tables(session, dataset):  # noqa: F811
    expected = from_base(session)
    # Each closed month for all municipalities together and for Nankoku, the only one.
    assert rollup.refresh(session, NOW) == {"built": 6, "closed_months": 3}
    assert fresh(session) == fresh(session, "referrals") == both(CLOSED)
    assert report(session) == expected
    assert report(session)["by_month"][1]["consultations"] == 1  # the hand count, October
    assert report(session)["funnel"]["median_days"]["requested_to_sent"] == 2.0
    assert_rollup_answers_as_the_base_tables(session)


def test_a_second_run_changes_nothing(session, dataset):  # noqa: F811
    rollup.refresh(session, NOW)
    before = stored(session)
    assert rollup.refresh(session, NOW)["built"] == 0
    assert stored(session) == before


def test_a_late_entry_in_a_closed_month_is_never_read_stale_and_is_rebuilt(session, dataset):  # noqa: F811
    rollup.refresh(session, NOW)
    client = session.scalar(select(Client).where(Client.district == "十市"))
    case = Case(client=client, status="open", created_at=NOW)
    session.add(case)
    # A back-dated consultation, written with the ORM: October's row goes stale in the same
    # transaction.
    session.add(Consultation(case=case, client=client, received_at=datetime(2026, 10, 31, 23,
                                                                            tzinfo=JST),
                             channel="phone", topic_rows=[ConsultationTopic(topic="housing")]))
    session.commit()
    assert fresh(session) == both(["2026-09", "2026-11"])
    assert fresh(session, "referrals") == both(CLOSED)
    expected = from_base(session)
    assert expected["by_month"][1]["consultations"] == 2
    assert report(session) == expected  # October from the base tables meanwhile
    assert_rollup_answers_as_the_base_tables(session)
    assert rollup.refresh(session, NOW)["built"] == 2
    assert fresh(session) == both(CLOSED)
    assert report(session) == expected
    assert_rollup_answers_as_the_base_tables(session)


def test_core_writes_and_district_changes_mark_the_months_too(session, dataset):  # noqa: F811
    rollup.refresh(session, NOW)
    case_id = session.scalar(select(Case.id).order_by(Case.id))
    town = areas.municipality(session, "nankoku").id
    session.execute(insert(Consultation).values(
        case_id=case_id, received_at=datetime(2026, 9, 3, 10, tzinfo=JST), channel="window",
        urgency="normal", summary="", facts={}, fallback_only=False, created_at=NOW,
        municipality_id=town))
    session.commit()
    assert fresh(session) == both(["2026-10", "2026-11"])
    rollup.refresh(session, NOW)
    # 山田 consulted in October and November: both months name his district.
    session.execute(update(Client).where(Client.district == "岡豊").values(district="大篠"))
    session.commit()
    assert fresh(session) == both(["2026-09"])
    expected = from_base(session)
    assert report(session) == expected
    assert_rollup_answers_as_the_base_tables(session)
    assert rollup.refresh(session, NOW)["built"] == 4
    assert report(session) == expected
    assert ("大篠", 2) in [(d["district"], d["count"]) for d in expected["by_district"]]


def test_a_referrals_later_step_marks_only_the_referral_figures_of_its_month(session, dataset):  # noqa: F811
    rollup.refresh(session, NOW)
    # The September referral is received in December: September's funnel moves.
    september = session.scalar(select(Referral).where(Referral.created_at < datetime(
        2026, 10, 1, tzinfo=JST)))
    september.received_at = datetime(2026, 12, 2, tzinfo=JST)
    september.status = "received"
    session.commit()
    assert fresh(session) == both(CLOSED)
    assert fresh(session, "referrals") == both(["2026-10", "2026-11"])
    assert_rollup_answers_as_the_base_tables(session)
    # A rejection's reason written afterwards (Core) marks October, where it was made.
    session.execute(update(ReferralEvent).where(ReferralEvent.to_status == "rejected")
                    .values(note="連絡がつかない"))
    session.commit()
    assert fresh(session, "referrals") == both(["2026-11"])
    expected = from_base(session)
    assert expected["rejections"] == [{"reason": "連絡がつかない", "count": 1}]
    assert report(session) == expected
    assert rollup.refresh(session, NOW)["built"] == 4
    assert fresh(session, "referrals") == both(CLOSED)
    assert report(session) == expected
    assert_rollup_answers_as_the_base_tables(session)


def test_each_municipality_reads_its_own_rows_and_a_handover_marks_both(session, dataset):  # noqa: F811
    seed.seed_network(session, "nakatosa")
    nakatosa = areas.municipality(session, "nakatosa").id
    # Four rows a month now: all together, Nankoku, Nakatosa.
    assert rollup.refresh(session, NOW) == {"built": 9, "closed_months": 3}
    with scoped(session, "nakatosa"):
        assert sorted(rollup.fresh(session, CLOSED)) == CLOSED
        empty = report(session)
        assert empty == from_base(session)
        assert [m["consultations"] for m in empty["by_month"]] == [0, 0, 0, 0]
        assert empty["referrals_by_partner"] == []
    # 山田 moves to Nakatosa with his case, consultations and referrals (as a handover does).
    client = session.scalar(select(Client).where(Client.district == "岡豊"))
    case_ids = [c.id for c in client.cases]
    for statement in (update(Client).where(Client.id == client.id),
                      update(Case).where(Case.id.in_(case_ids)),
                      update(Consultation).where(Consultation.case_id.in_(case_ids)),
                      update(Referral).where(Referral.case_id.in_(case_ids))):
        session.execute(statement.values(municipality_id=nakatosa)
                        .execution_options(synchronize_session=False))
    session.commit()
    with scoped(session, "nakatosa"):
        assert sorted(rollup.fresh(session, CLOSED)) == ["2026-09"]
        assert sorted(rollup.fresh(session, CLOSED, "referrals")) == ["2026-09"]
    assert fresh(session) == both(["2026-09"])
    assert_rollup_answers_as_the_base_tables(session)
    assert rollup.refresh(session, NOW)["built"] == 6
    assert_rollup_answers_as_the_base_tables(session)
    with scoped(session, "nakatosa"):
        moved = report(session)
        assert moved == from_base(session)
    assert [m["consultations"] for m in moved["by_month"]] == [0, 1, 1, 0]
    assert [p["partner"] for p in moved["referrals_by_partner"]] == ["bengoshi", "houterasu",
                                                                     "shihoshoshi"]


def test_the_prefecture_reads_closed_months_per_town_from_the_rollup(session, dataset):  # noqa: F811
    seed.seed_network(session, "nakatosa")
    prefecture = session.scalar(select(Area.id).where(Area.level == AreaLevel.PREFECTURE))
    actor = Actor(user_id=None, name="県社協", role="prefecture")
    rollup.refresh(session, NOW)
    scope.enter(session, scope.for_actor(session, actor, prefecture))
    try:
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(rollup, "fresh_by_town", lambda *_args: {})
            expected = layers.prefecture(session, actor, PERIOD, NOW)
        towns = scope.current(session).municipalities
        assert len(rollup.fresh_by_town(session, towns, CLOSED)) == 3 * len(towns) >= 6
        assert layers.prefecture(session, actor, PERIOD, NOW) == expected
    finally:
        scope.leave(session)
    assert expected["total"] == {"consultations": 7, "new_cases": 6}
