"""The monthly report's rollup: each closed month's figures, per municipality.

Beat calls ``refresh`` (caseapp.report_rollup); the report calls ``fresh`` and reads the base
tables only for the months it does not answer (the current month, and any month a late write
touched since its last build). A row belongs to one municipality and holds what a report scoped
to it reads (it is built under that scope); the row without a municipality holds what unscoped
work reads, every municipality together. Triggers on the base tables bump a month's dirty
sequences in the writer's own transaction, whatever the writer (ORM, Core, an import): a stale
part is never read, and the next refresh rebuilds it.

Each row has two parts with their own sequences: the consultation figures and the figures of
the referrals made that month. A referral's step months after it was made marks only the
referral part, and only for its municipality.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from caseapp.domain.community import AreaLevel
from caseapp.models import Area, Case, Client, Consultation, Referral, ReportMonthRollup
from caseapp.models.types import utcnow
from caseapp.services.core import scope
from caseapp.services.reports import referral_figures
from caseapp.services.reports.figures import Figures, Period, from_base, month_start
from caseapp.services.reports.referral_figures import ReferralFigures

R = ReportMonthRollup
# (stored column, built sequence, dirty sequence) of each part.
PARTS = {"figures": (R.figures, R.built_seq, R.dirty_seq),
         "referrals": (R.referral_figures, R.referral_built_seq, R.referral_dirty_seq)}
NOT_STORED = object()


def owner(session: Session):
    """Whose rows answer for this session: its one municipality's, the all-municipalities row
    (None) when unscoped, or NOT_STORED when the scope spans several (read the base tables)."""
    visible = scope.current(session)
    if visible is None:
        return None
    return visible.municipalities[0] if len(visible.municipalities) == 1 else NOT_STORED


def fresh(session: Session, months: list[str], part: str = "figures") -> dict:
    """The rolled-up figures (``part``: figures or referrals) of those months that are up to
    date for the session's municipality (at most one row each)."""
    key = owner(session)
    if not months or key is NOT_STORED:
        return {}
    stored, built, dirty = PARTS[part]
    mine = R.municipality_id.is_(None) if key is None else R.municipality_id == key
    rows = session.execute(select(R.month, stored).where(
        mine, R.month.in_(months), built == dirty, stored.is_not(None)))
    load = Figures.from_json if part == "figures" else ReferralFigures.from_json
    return {month: load(data) for month, data in rows}


def fresh_by_town(session: Session, towns, months: list[str]) -> dict[tuple[int, str], Figures]:
    """The up-to-date consultation figures of those towns' months, by (town, month)."""
    if not towns or not months:
        return {}
    rows = session.execute(select(R.municipality_id, R.month, R.figures).where(
        R.municipality_id.in_(list(towns)), R.month.in_(months), R.built_seq == R.dirty_seq,
        R.figures.is_not(None)))
    return {(town, month): Figures.from_json(data) for town, month, data in rows}


def _first_month(session: Session) -> datetime | None:
    # Each column is indexed: index lookups, not scans.
    firsts = [session.scalar(select(func.min(column))) for column in
              (Consultation.received_at, Case.created_at, Client.created_at,
               Referral.created_at)]
    firsts = [first for first in firsts if first is not None]
    return month_start(min(firsts)) if firsts else None


def refresh(session: Session, now: datetime | None = None) -> dict[str, int]:
    """Build every closed month's part that has no up-to-date row, for every municipality and
    for all together; running it again changes nothing."""
    now = now or utcnow()
    dialect = session.get_bind().dialect.name
    first = _first_month(session)
    current = month_start(now)
    if first is None or first >= current:
        session.commit()
        return {"built": 0, "closed_months": 0}
    months = Period(first, current, "", "").month_list()
    towns = session.scalars(select(Area.id).where(Area.level == AreaLevel.MUNICIPALITY)
                            .order_by(Area.id)).all()
    owners = [None, *towns]
    rows = {(r.municipality_id, r.month): r for r in session.execute(
        select(R.id, R.municipality_id, R.month, R.dirty_seq - R.built_seq,
               R.referral_dirty_seq - R.referral_built_seq).where(R.month.in_(months)))}
    missing = [(o, m) for o in owners for m in months if (o, m) not in rows]
    if missing:
        if dialect == "postgresql":
            # Every writer's trigger holds ROW EXCLUSIVE on the table until it commits: waiting
            # for them here means no write that missed the new rows can land after the build
            # below has read its month. (SQLite has one writer at a time anyway.)
            session.execute(text("LOCK TABLE report_month_rollups IN SHARE ROW EXCLUSIVE MODE"))
        insert = pg_insert if dialect == "postgresql" else sqlite_insert
        session.execute(insert(R).values([
            {"municipality_id": o, "month": m, "dirty_seq": 1, "built_seq": 0,
             "referral_dirty_seq": 1, "referral_built_seq": 0} for o, m in missing])
            .on_conflict_do_nothing())
    session.commit()
    todo = {key: ["figures", "referrals"] for key in missing}
    for key, row in rows.items():
        parts = [part for part, stale in (("figures", row[3]), ("referrals", row[4])) if stale]
        if parts:
            todo[key] = parts
    scopes = {}
    for (town, month), parts in sorted(todo.items(), key=lambda item: (item[0][1],
                                                                       item[0][0] or 0)):
        if town is not None and town not in scopes:
            scopes[town] = scope.for_municipality(session, town)
        _build(session, town, scopes.get(town), month, parts, dialect, now)
    return {"built": len(todo), "closed_months": len(months)}


def _build(session: Session, town: int | None, town_scope, month: str, parts: list[str],
           dialect: str, now: datetime) -> None:
    mine = R.municipality_id.is_(None) if town is None else R.municipality_id == town
    # The sequences are read before the figures: a write that lands meanwhile bumps them past
    # what is stored, and the part stays stale until the next refresh.
    seqs = session.execute(select(R.dirty_seq, R.referral_dirty_seq)
                           .where(mine, R.month == month)).one()
    if dialect == "postgresql":
        session.execute(text("SET LOCAL work_mem = '64MB'"))
    period = Period.months(month, month)
    ranges = [(period.start, period.end)]
    values: dict = {}
    if town_scope is not None:
        # What a report scoped to the municipality would read, by the same queries.
        scope.enter(session, town_scope)
    try:
        if "figures" in parts:
            values.update(figures=from_base(session, ranges, dialect).to_json(),
                          built_seq=seqs[0], built_at=now)
        if "referrals" in parts:
            values.update(referral_figures=referral_figures.from_base(
                session, ranges, dialect).to_json(), referral_built_seq=seqs[1])
    finally:
        if town_scope is not None:
            scope.leave(session)
    session.execute(update(R).where(mine, R.month == month).values(**values))
    session.commit()
