"""Monthly statistics for supervisors, the city and the network's meetings.

Every figure is one GROUP BY in the database; Python only shapes the rows. A closed month's
consultation figures and the figures of the referrals made in it come from its rollup
(services/reports/rollup.py) while that is up to date, so past months cost a row each; the
current month, and a month a late write touched, are read from the base tables.
Months are counted on the counter's calendar (Asia/Tokyo).
"""

import itertools
from datetime import date, datetime

from sqlalchemy import case, func, or_, select, text
from sqlalchemy.orm import Session

from caseapp import rules
from caseapp.models import Event
from caseapp.models.types import utcnow
from caseapp.services.casework.cases import lost_query
from caseapp.services.core import audit
from caseapp.services.core.actors import Actor
from caseapp.services.reports import referral_figures, rollup
from caseapp.services.reports.figures import (  # noqa: F401  (Period is this module's API)
    UNKNOWN_DISTRICT,
    Figures,
    Period,
    closed,
    from_base,
    runs,
)

FUNNEL = referral_figures.FUNNEL
# The steps a supervisor follows: sending is the machine's, receiving is the partner's.
STEPS = ("requested", "received", "accepted", "completed")


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
    stored = rollup.fresh(session, closed(period, now))
    figures = from_base(session, runs(period.month_list(), stored), dialect)
    for month_figures in stored.values():
        figures.add(month_figures)
    return figures


def _referral_figures(session: Session, period: Period, now: datetime, dialect: str,
                      pairs) -> referral_figures.ReferralFigures:
    stored = rollup.fresh(session, closed(period, now), "referrals")
    figures = referral_figures.from_base(session, runs(period.month_list(), stored), dialect,
                                         pairs)
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
    referrals = _referral_figures(session, period, now, dialect,
                                  list(itertools.pairwise(FUNNEL)))

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
        "referrals_by_partner": _referrals_by_partner(session, referrals),
        "funnel": _funnel(referrals, dialect),
        "rejections": _by_count(referrals.rejections, "reason"),
        "outcomes": _by_count(referrals.outcomes, "outcome"),
        # 断らない accounting: consultations that only the catch-all rule referred.
        "fallback_only": {"consultations": fallback,
                          "share": round(fallback / total, 3) if total else 0.0},
        "lost": _lost(session, now),
    }


def _ranked(counts: dict, name: str) -> list[dict]:
    rows = sorted(counts.items(), key=lambda item: (-item[1][0], str(item[0])))
    return [{name: key, "count": value[0]} for key, value in rows]


def _by_count(counts: dict, name: str) -> list[dict]:
    rows = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    return [{name: key, "count": n} for key, n in rows]


def _by_topic(topics: dict[str, int]) -> list[dict]:
    rows = sorted(topics.items(), key=lambda item: (-item[1], item[0]))
    return [{"topic": t, "label": rules.TOPICS.get(t, t), "count": n} for t, n in rows]


def _by_event(session, counts: dict) -> list[dict]:
    ids = [key for key in counts if key is not None]
    events = session.scalars(select(Event).where(Event.id.in_(ids)).order_by(Event.date, Event.id))
    return [{"event_id": e.id, "name": e.name, "date": e.date.isoformat(),
             "count": counts[e.id][0]} for e in events]


def _referrals_by_partner(session, referrals) -> list[dict]:
    partners = referral_figures.visible_partners(session, {p for p, _s in referrals.by_partner})
    table: dict[str, dict] = {}
    for (partner_id, status), count in sorted(referrals.by_partner.items()):
        if partner_id not in partners:
            continue
        code, name = partners[partner_id]
        entry = table.setdefault(code, {"partner": code, "name": name, "total": 0,
                                        "by_status": {}})
        entry["by_status"][status] = count
        entry["total"] += count
    return sorted(table.values(), key=lambda e: (-e["total"], e["partner"]))


def _funnel(referrals, dialect, steps=FUNNEL) -> dict:
    """Referrals made in the period: how many reached each step, median days between steps."""
    pairs = list(itertools.pairwise(steps))
    return {"counts": {step: referrals.reached.get(step, 0) for step in steps},
            "median_days": {f"{a}_to_{b}": referrals.median(a, b, dialect) for a, b in pairs}}


def referral_funnel(session: Session, period: Period, steps: tuple[str, ...] = STEPS,
                    now: datetime | None = None) -> dict:
    """The funnel over chosen steps: a median of days from one step to the next one shown is
    taken over the referrals that reached both, not summed from the medians in between."""
    unknown = [step for step in steps if step not in FUNNEL]
    if unknown:
        raise ValueError(f"not a funnel step: {unknown}")
    dialect = session.get_bind().dialect.name
    pairs = list(itertools.pairwise(steps))
    referrals = _referral_figures(session, period, now or utcnow(), dialect, pairs)
    return _funnel(referrals, dialect, steps)


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
