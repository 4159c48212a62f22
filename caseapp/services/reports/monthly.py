"""Monthly statistics for supervisors, the city and the network's meetings.

Every figure is one GROUP BY in the database; Python only shapes the rows. The consultation
figures of a closed month come from its rollup (services/reports/rollup.py) while that is up to
date, so past months cost a row each; the current month is read from the base tables.
Months are counted on the counter's calendar (Asia/Tokyo).
"""

import itertools
from datetime import date, datetime

from sqlalchemy import and_, case, func, or_, select, text
from sqlalchemy.orm import Session
from sqlalchemy.sql import ColumnElement

from caseapp import rules
from caseapp.models import Event, Partner, Referral, ReferralEvent
from caseapp.services.casework.cases import lost_query
from caseapp.services.core import audit
from caseapp.services.core.actors import Actor
from caseapp.services.reports import rollup
from caseapp.services.reports.figures import (  # noqa: F401  (Period is this module's API)
    UNKNOWN_DISTRICT,
    Figures,
    Period,
    from_base,
    month_name,
)

FUNNEL = ("requested", "sent", "received", "accepted", "completed")
# The steps a supervisor follows: sending is the machine's, receiving is the partner's.
STEPS = ("requested", "received", "accepted", "completed")


def _days(start, end, dialect: str) -> ColumnElement:
    if dialect == "postgresql":
        return func.date_part("epoch", end - start) / 86400.0
    return func.julianday(end) - func.julianday(start)


def _median(session: Session, values) -> float | None:
    """Median of a one-column subquery, with window functions both backends have."""
    sub = values.subquery()
    value = sub.c[0]
    ranked = select(value.label("v"),
                    func.row_number().over(order_by=value).label("n"),
                    func.count().over().label("total")).where(value.is_not(None)).subquery()
    middle = select(func.avg(ranked.c.v)).where(
        ranked.c.n.in_([(ranked.c.total + 1) // 2, (ranked.c.total + 2) // 2]))
    result = session.scalar(middle)
    return None if result is None else round(float(result), 2)


def read(session: Session, actor: Actor, period: Period, population: int, now: datetime, *,
         format: str = "json") -> dict:
    """GET /reports/monthly: the figures, and an audit entry saying who read them."""
    data = monthly(session, period, population, now)
    audit.record(session, actor, "read", "report", "monthly",
                 detail={"from": period.first, "to": period.last, "format": format})
    session.commit()
    return data


def _figures(session: Session, period: Period, now: datetime, dialect: str) -> Figures:
    """Closed months from their rollup where it is up to date, the rest from the base tables."""
    months = period.month_list()
    current = month_name(now)
    stored = rollup.fresh(session, [m for m in months if m < current])
    ranges: list[tuple[datetime, datetime]] = []
    for month in months:  # the months left over, as runs of consecutive months
        if month in stored:
            continue
        one = Period.months(month, month)
        if ranges and ranges[-1][1] == one.start:
            ranges[-1] = (ranges[-1][0], one.end)
        else:
            ranges.append((one.start, one.end))
    figures = from_base(session, ranges, dialect)
    for month_figures in stored.values():
        figures.add(month_figures)
    return figures


def monthly(session: Session, period: Period, population: int, now: datetime) -> dict:
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        # The month's groupings are hashed; with the default 4 MB they spill to disk.
        session.execute(text("SET LOCAL work_mem = '64MB'"))
    figures = _figures(session, period, now, dialect)
    counts, clients_by_month = figures.counts, figures.clients
    new_cases, new_clients = figures.new_cases, figures.new_clients

    months = []
    for m in period.month_list():
        total, named, _fallback = counts["month"].get(m, (0, 0, 0))
        opened = new_cases.get(m, 0)
        months.append({
            "month": m,
            "consultations": total,
            "anonymous": total - named,
            "new_cases": opened,
            "new_clients": new_clients.get(m, 0),
            "returning_clients": max(0, clients_by_month.get(m, 0) - new_clients.get(m, 0)),
            "new_cases_per_100k": round(opened * 100000 / population, 1) if population else None,
        })
    total = sum(c[0] for c in counts["month"].values())
    fallback = sum(c[2] for c in counts["month"].values())

    return {
        "from": period.first, "to": period.last, "population": population,
        "by_month": months,
        "by_topic": _by_topic(figures.topics),
        "by_channel": _ranked(counts["channel"], "channel"),
        "by_district": _ranked(counts["district"], "district"),
        "by_event": _by_event(session, counts["event"]),
        "referrals_by_partner": _referrals_by_partner(session, period),
        "funnel": _funnel(session, period, dialect),
        "rejections": _rejections(session, period),
        "outcomes": _counts(session, Referral.outcome,
                            and_(_referred_in(period), Referral.outcome.is_not(None)), "outcome"),
        # 断らない accounting: consultations that only the catch-all rule referred.
        "fallback_only": {"consultations": fallback,
                          "share": round(fallback / total, 3) if total else 0.0},
        "lost": _lost(session, now),
    }


def _ranked(counts: dict, name: str) -> list[dict]:
    rows = sorted(counts.items(), key=lambda item: (-item[1][0], str(item[0])))
    return [{name: key, "count": value[0]} for key, value in rows]


def _counts(session, column, where, name) -> list[dict]:
    rows = session.execute(select(column, func.count()).where(where).group_by(column)
                           .order_by(func.count().desc(), column))
    return [{name: row[0], "count": row[1]} for row in rows]


def _by_topic(topics: dict[str, int]) -> list[dict]:
    rows = sorted(topics.items(), key=lambda item: (-item[1], item[0]))
    return [{"topic": t, "label": rules.TOPICS.get(t, t), "count": n} for t, n in rows]


def _by_event(session, counts: dict) -> list[dict]:
    ids = [key for key in counts if key is not None]
    events = session.scalars(select(Event).where(Event.id.in_(ids)).order_by(Event.date, Event.id))
    return [{"event_id": e.id, "name": e.name, "date": e.date.isoformat(),
             "count": counts[e.id][0]} for e in events]


def _referred_in(period: Period):
    return and_(Referral.created_at >= period.start, Referral.created_at < period.end)


def _referrals_by_partner(session, period) -> list[dict]:
    rows = session.execute(
        select(Partner.code, Partner.name, Referral.status, func.count())
        .join(Referral, Referral.partner_id == Partner.id)
        .where(_referred_in(period))
        .group_by(Partner.code, Partner.name, Referral.status))
    table: dict[str, dict] = {}
    for code, name, status, count in rows:
        entry = table.setdefault(code, {"partner": code, "name": name, "total": 0,
                                        "by_status": {}})
        entry["by_status"][status] = count
        entry["total"] += count
    return sorted(table.values(), key=lambda e: (-e["total"], e["partner"]))


def _funnel(session, period, dialect, steps=FUNNEL) -> dict:
    """Referrals made in the period: how many reached each step, median days between steps."""
    where = _referred_in(period)
    counts = session.execute(select(*(func.count(getattr(Referral, f"{step}_at"))
                                      for step in steps)).where(where)).one()
    pairs = list(itertools.pairwise(steps))
    gaps = [_days(getattr(Referral, f"{a}_at"), getattr(Referral, f"{b}_at"), dialect)
            for a, b in pairs]
    if dialect == "postgresql":
        row = session.execute(select(
            *(func.percentile_cont(0.5).within_group(gap) for gap in gaps)).where(where)).one()
        values = [None if v is None else round(float(v), 2) for v in row]
    else:
        values = [_median(session, select(gap).where(where)) for gap in gaps]
    return {"counts": dict(zip(steps, counts, strict=True)),
            "median_days": {f"{a}_to_{b}": v for (a, b), v in zip(pairs, values, strict=True)}}


def referral_funnel(session: Session, period: Period, steps: tuple[str, ...] = STEPS) -> dict:
    """The funnel over chosen steps: a median of days from one step to the next one shown is
    taken over the referrals that reached both, not summed from the medians in between."""
    unknown = [step for step in steps if step not in FUNNEL]
    if unknown:
        raise ValueError(f"not a funnel step: {unknown}")
    return _funnel(session, period, session.get_bind().dialect.name, steps)


def _rejections(session, period) -> list[dict]:
    reason = func.coalesce(ReferralEvent.note, "（理由未記入）")
    rows = session.execute(
        select(reason, func.count())
        .select_from(Referral)
        .join(ReferralEvent, and_(ReferralEvent.referral_id == Referral.id,
                                  ReferralEvent.to_status == "rejected"))
        .where(Referral.rejected_at.is_not(None), _referred_in(period))
        .group_by(reason).order_by(func.count().desc(), reason))
    return [{"reason": r, "count": n} for r, n in rows]


def _lost(session, now) -> dict:
    """迷子 accounting, as of now: open cases without an owner or past their next action."""
    lost = lost_query(now).subquery()
    row = session.execute(select(
        func.count(),
        func.sum(case((lost.c.owner_id.is_(None), 1), else_=0)),
        func.sum(case((or_(lost.c.next_action_at.is_(None), lost.c.next_action_at < now), 1),
                      else_=0)),
    ).select_from(lost)).one()
    return {"cases": row[0] or 0, "without_owner": row[1] or 0, "overdue": row[2] or 0}


def month_of(d: date) -> str:
    return f"{d.year:04d}-{d.month:02d}"
