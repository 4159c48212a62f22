"""The monthly report's consultation figures, which add up month by month.

They are what a closed month's rollup keeps (services/reports/rollup.py) and what the report
reads from the base tables for the months a rollup does not answer for. Months are counted on
the counter's calendar (Asia/Tokyo, which has no daylight saving, so +9 h is exact).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import and_, case, func, or_, select, tuple_
from sqlalchemy.orm import Session
from sqlalchemy.sql import ColumnElement

from caseapp.models import Case, Client, Consultation, ConsultationTopic
from caseapp.rules.calendar import TOKYO

UNKNOWN_DISTRICT = "（不明・匿名）"
DIMENSIONS = ("month", "channel", "district", "event")


@dataclass(frozen=True)
class Period:
    start: datetime  # inclusive, aware
    end: datetime  # exclusive, aware
    first: str
    last: str

    @classmethod
    def months(cls, first: str, last: str) -> Period:
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


def month_start(moment: datetime) -> datetime:
    local = moment.astimezone(TOKYO)
    return datetime(local.year, local.month, 1, tzinfo=TOKYO)


def month_name(moment: datetime) -> str:
    local = moment.astimezone(TOKYO)
    return f"{local.year:04d}-{local.month:02d}"


def closed(period: Period, now: datetime) -> list[str]:
    """The period's months that are over by ``now``."""
    current = month_name(now)
    return [m for m in period.month_list() if m < current]


def runs(months: list[str], stored) -> list[tuple[datetime, datetime]]:
    """The months not in ``stored``, as runs of consecutive months."""
    ranges: list[tuple[datetime, datetime]] = []
    for month in months:
        if month in stored:
            continue
        one = Period.months(month, month)
        if ranges and ranges[-1][1] == one.start:
            ranges[-1] = (ranges[-1][0], one.end)
        else:
            ranges.append((one.start, one.end))
    return ranges


def month_expr(column, dialect: str) -> ColumnElement:
    """Group by its label: PostgreSQL does not match two copies with separate parameters."""
    if dialect == "postgresql":
        return func.to_char(func.timezone("Asia/Tokyo", column), "YYYY-MM")
    return func.strftime("%Y-%m", column, "+9 hours")


@dataclass
class Figures:
    """``counts``: ``{dimension: {key: (consultations, named, fallback_only)}}``; the rest
    ``{month or topic: count}``. Months never overlap, so two sets add key by key."""

    counts: dict[str, dict] = field(default_factory=lambda: {name: {} for name in DIMENSIONS})
    clients: dict[str, int] = field(default_factory=dict)
    new_cases: dict[str, int] = field(default_factory=dict)
    new_clients: dict[str, int] = field(default_factory=dict)
    topics: dict[str, int] = field(default_factory=dict)

    def add(self, other: Figures) -> None:
        for name in DIMENSIONS:
            mine = self.counts[name]
            for key, value in other.counts[name].items():
                old = mine.get(key, (0, 0, 0))
                mine[key] = tuple(a + b for a, b in zip(old, value, strict=True))
        for attr in ("clients", "new_cases", "new_clients", "topics"):
            total = Counter(getattr(self, attr))
            total.update(getattr(other, attr))
            setattr(self, attr, dict(total))

    def to_json(self) -> dict:
        # Lists of pairs, not objects: an event key is an int or null, which JSON keys are not.
        return {"counts": {name: [[key, *value] for key, value in self.counts[name].items()]
                           for name in DIMENSIONS},
                "clients": self.clients, "new_cases": self.new_cases,
                "new_clients": self.new_clients, "topics": self.topics}

    @classmethod
    def from_json(cls, data: dict) -> Figures:
        return cls(counts={name: {row[0]: tuple(row[1:]) for row in data["counts"][name]}
                           for name in DIMENSIONS},
                   clients=dict(data["clients"]), new_cases=dict(data["new_cases"]),
                   new_clients=dict(data["new_clients"]), topics=dict(data["topics"]))


def within(column, ranges: list[tuple[datetime, datetime]]) -> ColumnElement:
    return or_(*(and_(column >= start, column < end) for start, end in ranges))


def _dimensions(dialect: str) -> dict[str, ColumnElement]:
    return {
        "month": month_expr(Consultation.received_at, dialect),
        "channel": Consultation.channel,
        "district": func.coalesce(Client.district, UNKNOWN_DISTRICT),
        "event": Consultation.event_id,
    }


def _consultation_counts(session, in_period, dialect) -> dict[str, dict]:
    """PostgreSQL does it in one scan with GROUPING SETS; SQLite, which has none, with one
    GROUP BY per dimension over the same select."""
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


def from_base(session: Session, ranges: list[tuple[datetime, datetime]],
              dialect: str) -> Figures:
    """The figures of the months in ``ranges`` (whole months), from the base tables."""
    if not ranges:
        return Figures()
    in_period = within(Consultation.received_at, ranges)
    counts = _consultation_counts(session, in_period, dialect)
    month = month_expr(Consultation.received_at, dialect).label("month")
    pairs = (select(month, Consultation.client_id).where(in_period,
                                                         Consultation.client_id.is_not(None))
             .group_by(month, Consultation.client_id).subquery())
    clients = dict(session.execute(
        select(pairs.c.month, func.count()).group_by(pairs.c.month)).all())
    opened = month_expr(Case.created_at, dialect).label("m")
    new_cases = dict(session.execute(
        select(opened, func.count()).where(within(Case.created_at, ranges))
        .group_by(opened)).all())
    # A new client is one registered that month; everyone else who consulted is returning.
    registered = month_expr(Client.created_at, dialect).label("m")
    new_clients = dict(session.execute(
        select(registered, func.count()).where(within(Client.created_at, ranges))
        .group_by(registered)).all())
    topics = dict(session.execute(
        select(ConsultationTopic.topic, func.count())
        .join(Consultation, Consultation.id == ConsultationTopic.consultation_id)
        .where(in_period).group_by(ConsultationTopic.topic)).all())
    return Figures(counts=counts, clients=clients, new_cases=new_cases,
                   new_clients=new_clients, topics=topics)
