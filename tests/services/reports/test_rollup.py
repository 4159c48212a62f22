"""The monthly report's rollup: closed months read from it answer exactly as the base tables."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import insert, select, update

from caseapp.models import Case, Client, Consultation, ConsultationTopic, ReportMonthRollup
from caseapp.services.reports import monthly, rollup
from tests.api.test_reports import dataset  # noqa: F401  (the hand-counted data set)

JST = ZoneInfo("Asia/Tokyo")
NOW = datetime(2026, 12, 15, 12, tzinfo=JST)  # September to November are closed
PERIOD = monthly.Period.months("2026-09", "2026-12")
CLOSED = ["2026-09", "2026-10", "2026-11"]


def from_base(session) -> dict:
    """The report with the rollup ignored, as it was before there was one."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(rollup, "fresh", lambda _session, _months: {})
        return monthly.monthly(session, PERIOD, 46000, NOW)


def report(session) -> dict:
    return monthly.monthly(session, PERIOD, 46000, NOW)


def stored(session) -> list[tuple]:
    return list(session.execute(select(ReportMonthRollup.month, ReportMonthRollup.figures,
                                       ReportMonthRollup.built_seq)
                                .order_by(ReportMonthRollup.month)))


def test_rollup_backed_report_equals_the_base_tables(session, dataset):  # noqa: F811
    expected = from_base(session)
    assert rollup.refresh(session, NOW) == {"built": 3, "closed_months": 3}
    assert sorted(rollup.fresh(session, CLOSED)) == CLOSED  # the current month is not rolled
    assert report(session) == expected
    assert report(session)["by_month"][1]["consultations"] == 1  # the hand count, October


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
    assert sorted(rollup.fresh(session, CLOSED)) == ["2026-09", "2026-11"]
    expected = from_base(session)
    assert expected["by_month"][1]["consultations"] == 2
    assert report(session) == expected  # October from the base tables meanwhile
    assert rollup.refresh(session, NOW)["built"] == 1
    assert sorted(rollup.fresh(session, CLOSED)) == CLOSED
    assert report(session) == expected


def test_core_writes_and_district_changes_mark_the_months_too(session, dataset):  # noqa: F811
    rollup.refresh(session, NOW)
    case_id = session.scalar(select(Case.id).order_by(Case.id))
    session.execute(insert(Consultation).values(
        case_id=case_id, received_at=datetime(2026, 9, 3, 10, tzinfo=JST), channel="window",
        urgency="normal", summary="", facts={}, fallback_only=False, created_at=NOW))
    session.commit()
    assert sorted(rollup.fresh(session, CLOSED)) == ["2026-10", "2026-11"]
    rollup.refresh(session, NOW)
    # 山田 consulted in October and November: both months name his district.
    session.execute(update(Client).where(Client.district == "岡豊").values(district="大篠"))
    session.commit()
    assert sorted(rollup.fresh(session, CLOSED)) == ["2026-09"]
    expected = from_base(session)
    assert report(session) == expected
    assert rollup.refresh(session, NOW)["built"] == 2
    assert report(session) == expected
    assert ("大篠", 2) in [(d["district"], d["count"]) for d in expected["by_district"]]
