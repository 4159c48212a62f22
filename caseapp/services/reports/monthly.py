"""Monthly statistics for supervisors, the city and the network's meetings.

Every figure is one GROUP BY in the database; Python only shapes the rows. Months are
counted on the counter's calendar (Asia/Tokyo, which has no daylight saving, so +9 h is exact).
"""

import itertools
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import and_, case, func, or_, select, text, tuple_
from sqlalchemy.orm import Session
from sqlalchemy.sql import ColumnElement

from caseapp import rules
from caseapp.models import (
    Case,
    Client,
    Consultation,
    ConsultationTopic,
    Event,
    Partner,
    Referral,
    ReferralEvent,
)
from caseapp.rules.calendar import TOKYO
from caseapp.services.casework.cases import lost_query
from caseapp.services.core import audit
from caseapp.services.core.actors import Actor

FUNNEL = ("requested", "sent", "received", "accepted", "completed")
UNKNOWN_DISTRICT = "（不明・匿名）"


@dataclass(frozen=True)
class Period:
    start: datetime  # inclusive, aware
    end: datetime  # exclusive, aware
    first: str
    last: str

    @classmethod
    def months(cls, first: str, last: str) -> "Period":
        start_year, start_month = (int(x) for x in first.split("-"))
        end_year, end_month = (int(x) for x in last.split("-"))
        end_year, end_month = (end_year + 1, 1) if end_month == 12 else (end_year, end_month + 1)
        return cls(datetime(start_year, start_month, 1, tzinfo=TOKYO),
                   datetime(end_year, end_month, 1, tzinfo=TOKYO), first, last)

    def month_list(self) -> list[str]:
        out, year, month = [], self.start.year, self.start.month
        while (year, month) < (self.end.year, self.end.month):
            out.append(f"{year:04d}-{month:02d}")
            year, month = (year + 1, 1) if month == 12 else (year, month + 1)
        return out


def _month(column, dialect: str) -> ColumnElement:
    """Group by its label: PostgreSQL does not match two copies with separate parameters."""
    if dialect == "postgresql":
        return func.to_char(func.timezone("Asia/Tokyo", column), "YYYY-MM")
    return func.strftime("%Y-%m", column, "+9 hours")


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


def _dimensions(dialect: str) -> dict[str, ColumnElement]:
    return {
        "month": _month(Consultation.received_at, dialect),
        "channel": Consultation.channel,
        "district": func.coalesce(Client.district, UNKNOWN_DISTRICT),
        "event": Consultation.event_id,
    }


def _consultation_counts(session, in_period, dialect) -> dict[str, dict]:
    """``{dimension: {key: (consultations, named, fallback_only)}}`` for the period.

    PostgreSQL does it in one scan with GROUPING SETS; SQLite, which has none, with one
    GROUP BY per dimension over the same select.
    """
    dims = _dimensions(dialect)
    measures = (func.count(), func.count(Consultation.client_id),
                func.count(case((Consultation.fallback_only, 1))))
    base = (select().select_from(Consultation)
            .outerjoin(Client, Client.id == Consultation.client_id).where(in_period))
    out: dict[str, dict] = {name: {} for name in dims}
    if dialect == "postgresql":
        columns = list(dims.values())
        query = base.add_columns(*columns, func.grouping(*columns), *measures).group_by(
            func.grouping_sets(*(tuple_(column) for column in columns)))
        names = list(dims)
        for row in session.execute(query):
            keys, mask, counts = row[:len(names)], row[len(names)], tuple(row[len(names) + 1:])
            # GROUPING() sets a bit for each column left out of the row's set.
            index = next(i for i in range(len(names))
                         if not mask & (1 << (len(names) - 1 - i)))
            out[names[index]][keys[index]] = counts
    else:
        for name, column in dims.items():
            for key, *counts in session.execute(base.add_columns(column, *measures)
                                                .group_by(column)):
                out[name][key] = tuple(counts)
    return out


def read(session: Session, actor: Actor, period: Period, population: int, now: datetime, *,
         format: str = "json") -> dict:
    """GET /reports/monthly: the figures, and an audit entry saying who read them."""
    data = monthly(session, period, population, now)
    audit.record(session, actor, "read", "report", "monthly",
                 detail={"from": period.first, "to": period.last, "format": format})
    session.commit()
    return data


def monthly(session: Session, period: Period, population: int, now: datetime) -> dict:
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        # The month's groupings are hashed; with the default 4 MB they spill to disk.
        session.execute(text("SET LOCAL work_mem = '64MB'"))
    in_period = and_(Consultation.received_at >= period.start,
                     Consultation.received_at < period.end)
    counts = _consultation_counts(session, in_period, dialect)
    month = _month(Consultation.received_at, dialect).label("month")
    pairs = (select(month, Consultation.client_id).where(in_period,
                                                         Consultation.client_id.is_not(None))
             .group_by(month, Consultation.client_id).subquery())
    clients_by_month = dict(session.execute(
        select(pairs.c.month, func.count()).group_by(pairs.c.month)).all())
    opened_month = _month(Case.created_at, dialect).label("m")
    new_cases = dict(session.execute(
        select(opened_month, func.count())
        .where(Case.created_at >= period.start, Case.created_at < period.end)
        .group_by(opened_month)).all())
    # A new client is one registered that month; everyone else who consulted is returning.
    registered = _month(Client.created_at, dialect).label("m")
    new_clients = dict(session.execute(
        select(registered, func.count())
        .where(Client.created_at >= period.start, Client.created_at < period.end)
        .group_by(registered)).all())

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
        "by_topic": _by_topic(session, in_period),
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


def _by_topic(session, in_period) -> list[dict]:
    rows = session.execute(
        select(ConsultationTopic.topic, func.count())
        .join(Consultation, Consultation.id == ConsultationTopic.consultation_id)
        .where(in_period).group_by(ConsultationTopic.topic)
        .order_by(func.count().desc(), ConsultationTopic.topic))
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


def _funnel(session, period, dialect) -> dict:
    """Referrals made in the period: how many reached each step, median days between steps."""
    steps = [getattr(Referral, f"{status}_at") for status in FUNNEL]
    where = _referred_in(period)
    counts = session.execute(select(*(func.count(step) for step in steps)).where(where)).one()
    pairs = list(itertools.pairwise(FUNNEL))
    gaps = [_days(getattr(Referral, f"{a}_at"), getattr(Referral, f"{b}_at"), dialect)
            for a, b in pairs]
    if dialect == "postgresql":
        row = session.execute(select(
            *(func.percentile_cont(0.5).within_group(gap) for gap in gaps)).where(where)).one()
        values = [None if v is None else round(float(v), 2) for v in row]
    else:
        values = [_median(session, select(gap).where(where)) for gap in gaps]
    return {"counts": dict(zip(FUNNEL, counts, strict=True)),
            "median_days": {f"{a}_to_{b}": v for (a, b), v in zip(pairs, values, strict=True)}}


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
