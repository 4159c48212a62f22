"""Values that go in and out of the rule engine."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import date
from types import MappingProxyType
from typing import Any


@dataclass(frozen=True)
class Subject:
    """One consultation as the rules see it.

    ``on`` is the reference date for the age computed from ``birth_date``; callers should pass
    the consultation's date (Asia/Tokyo), the default of today is for interactive use.
    """

    topics: tuple[str, ...]
    urgency: str = "normal"
    channel: str = "window"
    summary: str = ""
    facts: Mapping[str, Any] = field(default_factory=dict, hash=False)
    birth_date: date | None = None
    on: date = field(default_factory=date.today)
    # Where the person lives, as the caller resolved it from the address: the 地区 code and,
    # when the address placed them that finely, the 小地域 code. None: not resolved.
    district: str | None = None
    small_area: str | None = None
    # Japanese names of those codes, for the explanation of a match.
    area_names: Mapping[str, str] = field(default_factory=dict, hash=False)

    def __post_init__(self) -> None:
        # Frozen means frozen: a list of topics or a caller's dict must not change under us.
        object.__setattr__(self, "topics", tuple(self.topics))
        object.__setattr__(self, "facts", MappingProxyType(dict(self.facts or {})))
        object.__setattr__(self, "area_names", MappingProxyType(dict(self.area_names or {})))


@dataclass(frozen=True)
class Decision:
    """Where one consultation goes: one per partner after merging."""

    partner: str
    rule_id: str
    reason: str
    action: str
    method: str
    urgency: str | None = None
    legal_basis: str | None = None
    matched: tuple[str, ...] = ()
    also: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["matched"] = list(self.matched)
        data["also"] = list(self.also)
        return data


@dataclass(frozen=True)
class Danger:
    """A rule of the highest urgency that fired: what set off the emergency protocol.

    ``words`` are the keywords it found in the summary (normalised as matched), ``matched``
    the rule's explanation as in a decision.
    """

    rule_id: str
    reason: str
    words: tuple[str, ...] = ()
    matched: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"rule_id": self.rule_id, "reason": self.reason, "words": list(self.words),
                "matched": list(self.matched)}


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a rule set. ``rule`` is the rule id, ``rules[i]`` or None."""

    rule: str | None
    field: str
    message: str

    def __str__(self) -> str:
        where = f"ルール {self.rule}" if self.rule is not None else "ルールセット"
        return " ".join(f"{where}: {self.field}: {self.message}".splitlines())

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class RuleSetInvalid(ValueError):
    """Raised with every problem found, so an author can fix them all in one go."""

    def __init__(self, problems: list[Problem]):
        self.problems = list(problems)
        count = len(self.problems)
        lines = "\n".join(str(p) for p in self.problems)
        super().__init__(f"ルールセットに問題が {count} 件あります"
                         f"（{count} problem{'s' if count != 1 else ''} in rule set）:\n{lines}")
