"""The monthly report's referral figures, kept so that months add up.

Counts add month by month; medians do not, so each month keeps, per pair of steps, how many
referrals took each gap (days between the steps, exactly as the database computes it): the
merged histograms give the exact median of any run of months. A closed month's set lives in
its rollup row (services/reports/rollup.py); the months it does not answer for are read from
the base tables. Referrals count in the month they were made (Asia/Tokyo).
"""

from __future__ import annotations

import itertools
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session
from sqlalchemy.sql import ColumnElement

from caseapp.models import Partner, Referral, ReferralEvent
from caseapp.services.reports.figures import within

FUNNEL = ("requested", "sent", "received", "accepted", "completed")
# Every pair a funnel over some of the steps can ask for, in step order.
PAIRS = tuple(itertools.combinations(FUNNEL, 2))
NO_REASON = "（理由未記入）"


def pair_name(a: str, b: str) -> str:
    return f"{a}_to_{b}"


def days(start, end, dialect: str) -> ColumnElement:
    if dialect == "postgresql":
        return func.date_part("epoch", end - start) / 86400.0
    return func.julianday(end) - func.julianday(start)


@dataclass
class ReferralFigures:
    """``by_partner``: ``{(partner_id, status): n}``; ``reached``: ``{step: n}``; ``gaps``:
    ``{pair name: {days: n}}``; ``rejections`` and ``outcomes``: ``{reason or outcome: n}``."""

    by_partner: dict[tuple[int, str], int] = field(default_factory=dict)
    reached: dict[str, int] = field(default_factory=dict)
    gaps: dict[str, dict[float, int]] = field(default_factory=dict)
    rejections: dict[str, int] = field(default_factory=dict)
    outcomes: dict[str, int] = field(default_factory=dict)

    def add(self, other: ReferralFigures) -> None:
        for attr in ("by_partner", "reached", "rejections", "outcomes"):
            total = Counter(getattr(self, attr))
            total.update(getattr(other, attr))
            setattr(self, attr, dict(total))
        for name, histogram in other.gaps.items():
            total = Counter(self.gaps.get(name, {}))
            total.update(histogram)
            self.gaps[name] = dict(total)

    def to_json(self) -> dict:
        return {"by_partner": [[p, s, n] for (p, s), n in self.by_partner.items()],
                "reached": self.reached,
                "gaps": {name: sorted([v, n] for v, n in h.items())
                         for name, h in self.gaps.items()},
                "rejections": self.rejections, "outcomes": self.outcomes}

    @classmethod
    def from_json(cls, data: dict) -> ReferralFigures:
        return cls(by_partner={(p, s): n for p, s, n in data["by_partner"]},
                   reached=dict(data["reached"]),
                   gaps={name: {v: n for v, n in rows} for name, rows in data["gaps"].items()},
                   rejections=dict(data["rejections"]), outcomes=dict(data["outcomes"]))

    def median(self, a: str, b: str, dialect: str) -> float | None:
        """The median of the gaps, as the database's own would give it: PostgreSQL's
        ``percentile_cont(0.5)`` interpolates, SQLite's middle-rows average adds and halves."""
        histogram = self.gaps.get(pair_name(a, b), {})
        n = sum(histogram.values())
        if not n:
            return None
        low, high = (n - 1) // 2, n // 2
        found: dict[int, float] = {}
        seen = 0
        for value in sorted(histogram):
            count = histogram[value]
            for index in (low, high):
                if seen <= index < seen + count:
                    found[index] = value
            seen += count
            if high in found:
                break
        first, second = found[low], found[high]
        if dialect == "postgresql":
            value = first if low == high else first + (second - first) * 0.5
        else:
            value = first if low == high else (first + second) / 2
        return round(float(value), 2)


def from_base(session: Session, ranges: list[tuple[datetime, datetime]], dialect: str,
              pairs=PAIRS) -> ReferralFigures:
    """The figures of the referrals made in ``ranges`` (whole months), from the base tables."""
    if not ranges:
        return ReferralFigures()
    made = within(Referral.created_at, ranges)
    by_partner = {(p, s): n for p, s, n in session.execute(
        select(Referral.partner_id, Referral.status, func.count()).where(made)
        .group_by(Referral.partner_id, Referral.status))}
    row = session.execute(select(*(func.count(getattr(Referral, f"{step}_at"))
                                   for step in FUNNEL)).where(made)).one()
    reached = dict(zip(FUNNEL, row, strict=True))
    gaps = {}
    for a, b in pairs:
        gap = days(getattr(Referral, f"{a}_at"), getattr(Referral, f"{b}_at"), dialect)
        gap = gap.label("gap")
        gaps[pair_name(a, b)] = {float(v): n for v, n in session.execute(
            select(gap, func.count()).where(made, gap.is_not(None)).group_by(gap))}
    reason = func.coalesce(ReferralEvent.note, NO_REASON).label("reason")
    rejections = dict(session.execute(
        select(reason, func.count()).select_from(Referral)
        .join(ReferralEvent, and_(ReferralEvent.referral_id == Referral.id,
                                  ReferralEvent.to_status == "rejected"))
        .where(Referral.rejected_at.is_not(None), made).group_by(reason)).all())
    outcomes = dict(session.execute(
        select(Referral.outcome, func.count()).where(made, Referral.outcome.is_not(None))
        .group_by(Referral.outcome)).all())
    return ReferralFigures(by_partner=by_partner, reached=reached, gaps=gaps,
                           rejections=rejections, outcomes=outcomes)


def visible_partners(session: Session, ids) -> dict[int, tuple[str, str]]:
    """Code and name of those partners the session may see (a scoped read leaves out a
    partner outside the municipality's network, as the join to partners always did)."""
    if not ids:
        return {}
    return {pid: (code, name) for pid, code, name in session.execute(
        select(Partner.id, Partner.code, Partner.name).where(Partner.id.in_(list(ids))))}
