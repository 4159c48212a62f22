"""Replaying past consultations through two rule sets, to see what a change would do."""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from dataclasses import dataclass, field
from typing import Any

from caseapp.rules.model import Decision, Subject
from caseapp.rules.ruleset import CompiledRuleSet


@dataclass(frozen=True)
class ReplayExample:
    key: Any
    before: tuple[str, ...]  # partner codes; a trailing "?" marks a suggestion
    after: tuple[str, ...]


@dataclass
class ReplayReport:
    """``counts[partner][action] == [before, after]``: consultations sent there that way."""

    old_version: Any
    new_version: Any
    total: int = 0
    changed: int = 0
    counts: dict[str, dict[str, list[int]]] = field(default_factory=dict)
    examples: list[ReplayExample] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "old_version": self.old_version,
            "new_version": self.new_version,
            "total": self.total,
            "changed": self.changed,
            "counts": {p: {a: list(c) for a, c in by.items()} for p, by in self.counts.items()},
            "examples": [{"key": e.key, "before": list(e.before), "after": list(e.after)}
                         for e in self.examples],
        }

    def to_text(self) -> str:
        share = f" ({self.changed / self.total:.1%})" if self.total else ""
        lines = [
            f"Replayed {self.total} consultations: rule set {self.old_version} -> "
            f"{self.new_version}",
            f"Routing changed for {self.changed}{share}",
            "",
            f"{'partner':<18}{'refer before':>13}{'after':>7}{'suggest before':>16}{'after':>7}",
        ]
        for partner in sorted(self.counts):
            refer, suggest = self.counts[partner]["refer"], self.counts[partner]["suggest"]
            lines.append(f"{partner:<18}{refer[0]:>13}{refer[1]:>7}{suggest[0]:>16}"
                         f"{suggest[1]:>7}")
        if self.examples:
            lines += ["", "Examples (? = suggestion):"]
            lines += [f"  {e.key}: {', '.join(e.before) or '-'} -> {', '.join(e.after) or '-'}"
                      for e in self.examples]
        return "\n".join(lines)


def replay(old: CompiledRuleSet, new: CompiledRuleSet,
           subjects: Iterable[tuple[Hashable, Subject]], examples: int = 5) -> ReplayReport:
    """A routing changes when the set of (partner, action) pairs differs; reasons don't count."""
    report = ReplayReport(old_version=old.version, new_version=new.version)
    for key, subject in subjects:
        before, after = old.evaluate(subject), new.evaluate(subject)
        report.total += 1
        _count(report.counts, before, 0)
        _count(report.counts, after, 1)
        if _routing(before) != _routing(after):
            report.changed += 1
            if len(report.examples) < examples:
                report.examples.append(ReplayExample(key, _labels(before), _labels(after)))
    return report


def _count(counts: dict[str, dict[str, list[int]]], decisions: list[Decision], side: int) -> None:
    for decision in decisions:
        by_action = counts.setdefault(decision.partner, {"refer": [0, 0], "suggest": [0, 0]})
        by_action[decision.action][side] += 1


def _routing(decisions: list[Decision]) -> frozenset[tuple[str, str]]:
    return frozenset((d.partner, d.action) for d in decisions)


def _labels(decisions: list[Decision]) -> tuple[str, ...]:
    return tuple(d.partner + ("?" if d.action == "suggest" else "") for d in decisions)
