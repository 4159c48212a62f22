"""What a condition can look at, and how one subject is turned into those values once.

A consultation is read into a flat *context* dict before any rule runs, so conditions are plain
dict look-ups. A value the consultation does not give is ``None`` in the context ("missing").
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from caseapp.rules.model import Subject
from caseapp.rules.vocab import BENEFITS, CHANNELS, HOUSING, TOPICS, URGENCIES, is_int

# Kinds of field; each kind has its own operators (see conditions.OPERATORS_BY_KIND).
INT, BOOL, ENUM, SET, TEXT, EACH = "integer", "boolean", "choice", "set", "text", "each"
AREA = "area"  # an area code of the municipality's own making; choices hold the area level


@dataclass(frozen=True)
class FieldSpec:
    kind: str
    source: str  # the context key the value is read from
    choices: tuple[str, ...] = ()
    optional: bool = True  # can be missing; topics, urgency, channel and summary never are
    quantifier: str = ""  # for EACH fields: "any" or "every" creditor


def _spec(kind: str, name: str, choices: tuple[str, ...] = (), optional: bool = True) -> FieldSpec:
    return FieldSpec(kind, name, choices, optional)


INT_FACTS = ("age", "household_size", "monthly_income", "savings", "rent")
BOOL_FACTS = (
    "employed", "in_school", "lost_work_within_2y", "wants_public_assistance",
    "disability_certificate", "reduced_cognitive_capacity", "family_nearby",
    "criminal_proceedings", "minor_involved",
)

FIELDS: dict[str, FieldSpec] = {
    "topics": _spec(SET, "topics", tuple(TOPICS), optional=False),
    "topic_count": _spec(INT, "topic_count", optional=False),
    "urgency": _spec(ENUM, "urgency", URGENCIES, optional=False),
    "channel": _spec(ENUM, "channel", CHANNELS, optional=False),
    "summary": _spec(TEXT, "summary", optional=False),
    **{name: _spec(INT, name) for name in INT_FACTS},
    **{name: _spec(BOOL, name) for name in BOOL_FACTS},
    "housing": _spec(ENUM, "housing", HOUSING),
    "benefits": _spec(SET, "benefits", BENEFITS),
    "debt_count": _spec(INT, "debt_count"),
    "debt_total": _spec(INT, "debt_total"),
    "any_debt_in_arrears": _spec(BOOL, "any_debt_in_arrears"),
    "any_debt_principal": FieldSpec(EACH, "debt_principals", quantifier="any"),
    "every_debt_principal": FieldSpec(EACH, "debt_principals", quantifier="every"),
    "district": _spec(AREA, "district", ("district",)),
    "small_area": _spec(AREA, "small_area", ("small_area",)),
}

AREA_NAMES = "_area_names"  # context key of the code -> name mapping, not a fact
_EMPTY_CONTEXT = dict.fromkeys(spec.source for spec in FIELDS.values())


def normalise_text(text: str) -> str:
    """NFKC folds half-width kana and full-width ASCII; dropping spaces lets 話を 聞いて match."""
    return "".join(unicodedata.normalize("NFKC", text).casefold().split())


def build_context(subject: Subject) -> dict[str, Any]:
    facts = subject.facts
    ctx = dict(_EMPTY_CONTEXT)
    topics = frozenset(subject.topics)
    ctx["topics"] = topics
    ctx["topic_count"] = len(topics)
    ctx["urgency"] = subject.urgency
    ctx["channel"] = subject.channel
    ctx["summary"] = normalise_text(subject.summary or "")
    for name in INT_FACTS:
        ctx[name] = _int(facts.get(name))
    for name in BOOL_FACTS:
        ctx[name] = _bool(facts.get(name))
    ctx["age"] = age_of(subject)
    housing = facts.get("housing")
    ctx["housing"] = housing if housing in HOUSING else None
    benefits = facts.get("benefits")
    ctx["benefits"] = frozenset(benefits) if isinstance(benefits, (list, tuple)) else None
    _read_debts(facts.get("debts"), ctx)
    ctx["district"] = subject.district or None
    ctx["small_area"] = subject.small_area or None
    ctx[AREA_NAMES] = subject.area_names
    return ctx


def age_of(subject: Subject) -> int | None:
    """facts.age wins; else completed years (満年齢) from birth_date at subject.on.

    The tuple comparison makes a 29 February birthday count from 1 March in common years,
    as 年齢計算ニ関スル法律 does.
    """
    age = subject.facts.get("age")
    if is_int(age):
        return age
    born, on = subject.birth_date, subject.on
    if born is None or on is None:
        return None
    years = on.year - born.year - ((on.month, on.day) < (born.month, born.day))
    return years if years >= 0 else None


def _read_debts(debts: object, ctx: dict[str, Any]) -> None:
    if not isinstance(debts, (list, tuple)):
        return
    entries = [d if isinstance(d, Mapping) else {} for d in debts]
    principals = tuple(_int(d.get("principal")) for d in entries)
    arrears = [_bool(d.get("in_arrears")) for d in entries]
    ctx["debt_count"] = len(entries)
    ctx["debt_principals"] = principals
    # A total is only known when every principal is.
    ctx["debt_total"] = None if None in principals else sum(principals)
    if True in arrears:
        ctx["any_debt_in_arrears"] = True
    else:
        ctx["any_debt_in_arrears"] = None if None in arrears else False


def _int(value: object) -> int | None:
    return value if is_int(value) else None


def _bool(value: object) -> bool | None:
    return value if isinstance(value, bool) else None
