"""Monthly statistics for supervisors, the city and the network's meetings.

Every figure is one GROUP BY in the database; Python only shapes the rows. Months are
counted on the counter's calendar (Asia/Tokyo, which has no daylight saving, so +9 h is exact).
"""

import itertools
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import and_, case, func, or_, select
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
from caseapp.services.cases import lost_query

FUNNEL = ("requested", "sent", "received", "accepted", "completed")


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


def monthly(session: Session, period: Period, population: int, now: datetime) -> dict:
    dialect = session.get_bind().dialect.name
    in_period = and_(Consultation.received_at >= period.start,
                     Consultation.received_at < period.end)
    month = _month(Consultation.received_at, dialect).label("month")

    by_month = {row.month: row for row in session.execute(
        select(month, func.count().label("consultations"),
               func.count(Consultation.client_id).label("named"),
               func.count(func.distinct(Consultation.client_id)).label("clients"))
        .where(in_period).group_by(month))}
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
        row = by_month.get(m)
        opened = new_cases.get(m, 0)
        months.append({
            "month": m,
            "consultations": row.consultations if row else 0,
            "anonymous": (row.consultations - row.named) if row else 0,
            "new_cases": opened,
            "new_clients": new_clients.get(m, 0),
            "returning_clients": max(0, (row.clients if row else 0) - new_clients.get(m, 0)),
            "new_cases_per_100k": round(opened * 100000 / population, 1) if population else None,
        })

    return {
        "from": period.first, "to": period.last, "population": population,
        "by_month": months,
        "by_topic": _by_topic(session, in_period),
        "by_channel": _counts(session, Consultation.channel, in_period, "channel"),
        "by_district": _by_district(session, in_period),
        "by_event": _by_event(session, in_period),
        "referrals_by_partner": _referrals_by_partner(session, period),
        "funnel": _funnel(session, period, dialect),
        "rejections": _rejections(session, period),
        "outcomes": _counts(session, Referral.outcome,
                            and_(_referred_in(period), Referral.outcome.is_not(None)), "outcome"),
        "fallback_only": _fallback_only(session, in_period),
        "lost": _lost(session, now),
    }


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


def _by_district(session, in_period) -> list[dict]:
    district = func.coalesce(Client.district, "（不明・匿名）")
    rows = session.execute(
        select(district, func.count())
        .select_from(Consultation).outerjoin(Client, Client.id == Consultation.client_id)
        .where(in_period).group_by(district).order_by(func.count().desc(), district))
    return [{"district": d, "count": n} for d, n in rows]


def _by_event(session, in_period) -> list[dict]:
    rows = session.execute(
        select(Event.id, Event.name, Event.date, func.count())
        .join(Consultation, Consultation.event_id == Event.id)
        .where(in_period).group_by(Event.id, Event.name, Event.date).order_by(Event.date))
    return [{"event_id": i, "name": n, "date": d.isoformat(), "count": c} for i, n, d, c in rows]


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


def _fallback_only(session, in_period) -> dict:
    """断らない accounting: consultations that only the catch-all rule referred."""
    total, only = session.execute(
        select(func.count(), func.count(case((Consultation.fallback_only, 1))))
        .where(in_period)).one()
    return {"consultations": only, "share": round(only / total, 3) if total else 0.0}


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
