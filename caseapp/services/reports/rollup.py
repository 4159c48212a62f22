"""The monthly report's rollup: one row of consultation figures per closed month.

Beat calls ``refresh`` (caseapp.report_rollup); the report calls ``fresh`` and reads the base
tables only for the months it does not answer (the current month, and any month a late write
touched since its last build). Triggers on the base tables bump a month's ``dirty_seq`` in the
writer's own transaction, whatever the writer (ORM, Core, an import): a stale row is never
read, and the next refresh rebuilds it.

Referral figures (status per partner, the funnel and its medians, rejections, outcomes) are not
rolled up: a month's referrals keep moving for months after it closed, and medians do not add.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from caseapp.models import Case, Client, Consultation, ReportMonthRollup
from caseapp.models.types import utcnow
from caseapp.services.reports.figures import Figures, Period, from_base, month_start

R = ReportMonthRollup


def fresh(session: Session, months: list[str]) -> dict[str, Figures]:
    """The rolled-up figures of those months that are up to date (at most one row each)."""
    if not months:
        return {}
    rows = session.execute(select(R.month, R.figures).where(
        R.month.in_(months), R.built_seq == R.dirty_seq, R.figures.is_not(None)))
    return {month: Figures.from_json(figures) for month, figures in rows}


def _first_month(session: Session) -> datetime | None:
    # Each column is indexed: three index lookups, not scans.
    firsts = [session.scalar(select(func.min(column))) for column in
              (Consultation.received_at, Case.created_at, Client.created_at)]
    firsts = [first for first in firsts if first is not None]
    return month_start(min(firsts)) if firsts else None


def refresh(session: Session, now: datetime | None = None) -> dict[str, int]:
    """Build every closed month that has no up-to-date row; running it again changes nothing."""
    now = now or utcnow()
    dialect = session.get_bind().dialect.name
    first = _first_month(session)
    current = month_start(now)
    if first is None or first >= current:
        session.commit()
        return {"built": 0, "closed_months": 0}
    months = Period(first, current, "", "").month_list()
    seqs = dict(session.execute(select(R.month, R.dirty_seq - R.built_seq)
                                .where(R.month.in_(months))).all())
    missing = [m for m in months if m not in seqs]
    if missing:
        if dialect == "postgresql":
            # Every writer's trigger holds ROW EXCLUSIVE on the table until it commits: waiting
            # for them here means no write that missed the new rows can land after the build
            # below has read its month. (SQLite has one writer at a time anyway.)
            session.execute(text("LOCK TABLE report_month_rollups IN SHARE ROW EXCLUSIVE MODE"))
        insert = pg_insert if dialect == "postgresql" else sqlite_insert
        session.execute(insert(R).values([{"month": m, "dirty_seq": 1, "built_seq": 0}
                                          for m in missing]).on_conflict_do_nothing())
    session.commit()
    todo = missing + [m for m in months if seqs.get(m, 0) != 0]
    for month in sorted(todo):
        _build(session, month, dialect, now)
    return {"built": len(todo), "closed_months": len(months)}


def _build(session: Session, month: str, dialect: str, now: datetime) -> None:
    # The sequence is read before the figures: a write that lands meanwhile bumps it past
    # what is stored, and the row stays stale until the next refresh.
    seq = session.scalar(select(R.dirty_seq).where(R.month == month))
    if dialect == "postgresql":
        session.execute(text("SET LOCAL work_mem = '64MB'"))
    period = Period.months(month, month)
    figures = from_base(session, [(period.start, period.end)], dialect)
    session.execute(update(R).where(R.month == month).values(
        figures=figures.to_json(), built_seq=seq, built_at=now))
    session.commit()
