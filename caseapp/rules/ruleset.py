"""Rule sets: whole-set validation, compilation, evaluation and the merge into decisions."""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from operator import attrgetter
from typing import Any

from caseapp.rules.conditions import Condition, ConditionCompiler, Context, Test
from caseapp.rules.fields import build_context
from caseapp.rules.messages import ja
from caseapp.rules.model import Danger, Decision, Problem, RuleSetInvalid, Subject
from caseapp.rules.tables import Table, parse_tables
from caseapp.rules.vocab import ACTIONS, LEGAL_BASES, METHODS, URGENCIES, is_int

_TOP_KEYS = ("version", "description", "tables", "rules")
_RULE_KEYS = ("id", "note", "when", "then", "fallback")
_ACTION_KEYS = ("action", "partners", "method", "reason", "urgency", "legal_basis")
_RULE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")
# Hiragana, katakana (full and half width) and CJK ideographs.
_JAPANESE = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff66-\uff9f]")
FALLBACK_MATCH = "no other rule made a referral (断らない)"
_TOP_URGENCY = len(URGENCIES) - 1  # emergency

Report = Callable[[str, str], None]


@dataclass(frozen=True)
class CompiledRule:
    index: int
    id: str
    condition: Condition | None  # None only for the fallback rule
    action: str
    partners: tuple[str, ...]
    method: str
    reason: str
    urgency: str | None
    legal_basis: str | None
    fallback: bool
    urgency_rank: int = -1  # index in URGENCIES; -1 when the rule sets no urgency

    def explain(self, ctx: Context) -> tuple[str, ...]:
        if self.condition is None:
            return (FALLBACK_MATCH,)
        return tuple(self.condition.matched(ctx))

    def danger(self, ctx: Context) -> Danger:
        words = tuple(dict.fromkeys(self.condition.words(ctx))) if self.condition else ()
        return Danger(self.id, self.reason, words, self.explain(ctx))


class CompiledRuleSet:
    """A validated rule set, ready to evaluate. Build it with :func:`compile_ruleset`."""

    def __init__(self, data: Mapping[str, Any], rules: list[CompiledRule]):
        self.data = copy.deepcopy(dict(data))
        self.version = self.data.get("version")
        self.rules: list[dict] = self.data["rules"]
        self.compiled = tuple(rules)
        self._fallback = next(rule for rule in rules if rule.fallback)
        self._checks: tuple[tuple[Test, CompiledRule], ...] = tuple(
            (rule.condition.test, rule) for rule in rules if rule.condition is not None)

    def __len__(self) -> int:
        return len(self.compiled)

    @property
    def fallback_id(self) -> str:
        return self._fallback.id

    def evaluate(self, subject: Subject) -> list[Decision]:
        """Decisions for one consultation: one per partner, never empty (断らない)."""
        return self.assess(subject)[0]

    def assess(self, subject: Subject) -> tuple[list[Decision], list[Danger]]:
        """The decisions, and the fired rules of the highest urgency (the emergency protocol)."""
        ctx = build_context(subject)
        hits = [rule for test, rule in self._checks if test(ctx) is True]
        dangers = [rule.danger(ctx) for rule in hits if rule.urgency_rank == _TOP_URGENCY]
        # Suggestions wait for staff; only a referral counts as routed.
        if not any(rule.action == "refer" for rule in hits):
            hits.append(self._fallback)
            hits.sort(key=lambda rule: rule.index)
        return merge(hits, ctx), dangers


def merge(hits: list[CompiledRule], ctx: Context) -> list[Decision]:
    """One decision per partner; ``hits`` are the fired rules in file order."""
    by_partner: dict[str, list[CompiledRule]] = {}
    for rule in hits:
        for partner in rule.partners:
            group = by_partner.get(partner)
            if group is None:
                by_partner[partner] = [rule]
            else:
                group.append(rule)
    explained: dict[int, tuple[str, ...]] = {}
    decided = []
    for partner, rules in by_partner.items():
        winner, decision = _decide(partner, rules, ctx, explained)
        decided.append(((winner.index, winner.partners.index(partner)), decision))
    decided.sort(key=lambda pair: pair[0])
    return [decision for _, decision in decided]


# C-level getters: a large rule set can fire hundreds of rules, and this loop is the merge cost.
_RANK, _ID = attrgetter("urgency_rank"), attrgetter("id")


def _decide(partner: str, rules: list[CompiledRule], ctx: Context,
            explained: dict[int, tuple[str, ...]]) -> tuple[CompiledRule, Decision]:
    referring = [rule for rule in rules if rule.action == "refer"]
    winners = referring or rules  # without a referral every rule here is a suggestion
    first = winners[0]
    if first.index not in explained:
        explained[first.index] = first.explain(ctx)
    rank = max(map(_RANK, rules))
    also = list(map(_ID, rules))
    also.remove(first.id)  # rule ids are unique, so this drops exactly the winner
    decision = Decision(
        partner=partner,
        rule_id=first.id,
        reason=first.reason,
        action=first.action,
        method=first.method,
        urgency=URGENCIES[rank] if rank >= 0 else None,
        legal_basis=next((rule.legal_basis for rule in winners if rule.legal_basis), None),
        matched=explained[first.index],
        also=tuple(also),
    )
    return first, decision


def validate_ruleset(data: object, partners: Collection[str],
                     areas: Mapping[str, str] | None = None) -> list[Problem]:
    """Every problem in the set, in file order; empty when it can be compiled.

    ``areas`` maps the municipality's area codes to their level (``district``,
    ``small_area``); given, a condition on an unknown code or one of the wrong level is a
    problem."""
    return _Checker(partners, areas).check(data)[0]


def compile_ruleset(data: object, partners: Collection[str],
                    areas: Mapping[str, str] | None = None) -> CompiledRuleSet:
    problems, rules = _Checker(partners, areas).check(data)
    if problems:
        raise RuleSetInvalid(problems)
    assert isinstance(data, Mapping)
    return CompiledRuleSet(data, rules)


class _Checker:
    """One pass that both checks and compiles, so the two can never disagree."""

    def __init__(self, partners: Collection[str], areas: Mapping[str, str] | None = None):
        self.partners = frozenset(partners)
        self.areas = dict(areas) if areas is not None else None
        self.problems: list[Problem] = []

    def at(self, rule: str | None) -> _Reporter:
        return _Reporter(self.problems, rule)

    def check(self, data: object) -> tuple[list[Problem], list[CompiledRule]]:
        top = self.at(None)
        if not isinstance(data, Mapping):
            top("(root)", ja("ルールセットは version・tables・rules を持つマッピングで書いて"
                             "ください", "a rule set is a mapping with version, tables and rules"))
            return self.problems, []
        for key in data:
            if key not in _TOP_KEYS:
                keys = ", ".join(_TOP_KEYS)
                top(str(key), ja(f"使えないキーです。ルールセットに書けるのは {keys} です",
                                 f"unknown key; a rule set has {keys}"))
        _check_version(data.get("version"), top)
        tables = parse_tables(data.get("tables"), top)
        raw_rules = data.get("rules")
        if not isinstance(raw_rules, list) or not raw_rules:
            top("rules", ja("ルールを一つ以上、リストで書いてください",
                            "must be a non-empty list of rules"))
            return self.problems, []
        rules = self._rules(raw_rules, tables)
        return self.problems, rules

    def _rules(self, raw_rules: list, tables: Mapping[str, Table | None]) -> list[CompiledRule]:
        compiled, first_index, fallbacks = [], {}, []
        for index, raw in enumerate(raw_rules):
            name = _rule_name(raw, index)
            report = self.at(name)
            if isinstance(raw, Mapping) and isinstance(raw.get("id"), str):
                if raw["id"] in first_index:
                    first = f"rules[{first_index[raw['id']]}]"
                    report("id", ja(f"同じ id のルールが {first} にもあります。ルールごとに別の"
                                    f" id にしてください", f"duplicate id; {first} has it too"))
                first_index.setdefault(raw["id"], index)
            if isinstance(raw, Mapping) and raw.get("fallback") is True:
                if fallbacks:
                    report("fallback", ja(
                        f"フォールバックのルールは一つだけにしてください。{fallbacks[0]} が"
                        f"すでにフォールバックです",
                        f"only one fallback rule; {fallbacks[0]} is one already"))
                fallbacks.append(name)
            rule = _compile_rule(raw, index, tables, self.partners, report, self.areas)
            if rule is not None:
                compiled.append(rule)
        if not fallbacks:
            self.at(None)("rules", ja(
                "フォールバックのルールがありません。fallback: true のルールをちょうど一つ置いて"
                "ください", "no fallback rule: mark exactly one rule fallback: true"))
        return compiled


class _Reporter:
    """Files problems under one rule and counts them, so a rule with any problem is skipped."""

    def __init__(self, problems: list[Problem], rule: str | None):
        self.problems = problems
        self.rule = rule
        self.count = 0

    def __call__(self, field: str, message: str) -> None:
        self.problems.append(Problem(self.rule, field, message))
        self.count += 1


def _check_version(version: object, report: Report) -> None:
    if version is None or isinstance(version, str) or is_int(version):
        return
    # YAML reads 2026.10 as the float 2026.1: refuse rather than store a wrong version.
    report("version", ja(f"文字列か整数で書いてください。YAML では version: \"{version}\""
                         f" のように引用符で囲みます",
                         f"must be text or an integer, not {type(version).__name__} "
                         f"(quote it in YAML: version: \"{version}\")"))


def _rule_name(raw: object, index: int) -> str:
    rule_id = raw.get("id") if isinstance(raw, Mapping) else None
    if isinstance(rule_id, str) and _RULE_ID.fullmatch(rule_id):
        return rule_id
    return f"rules[{index}]"


def _compile_rule(raw: object, index: int, tables: Mapping[str, Table | None],
                  partners: frozenset[str], report: _Reporter,
                  areas: Mapping[str, str] | None = None) -> CompiledRule | None:
    if not isinstance(raw, Mapping):
        report("(rule)", ja("ルールは id・when・then を持つマッピングで書いてください",
                            "a rule is a mapping with id, when and then"))
        return None
    for key in raw:
        if key not in _RULE_KEYS:
            keys = ", ".join(_RULE_KEYS)
            report(str(key), ja(f"使えないキーです。ルールに書けるのは {keys} です",
                                f"unknown key; a rule has {keys}"))
    rule_id = _rule_id(raw.get("id"), report)
    fallback = _fallback_flag(raw, report)
    condition = _condition(raw, fallback, tables, report, areas)
    action = _action(raw.get("then"), partners, fallback, report)
    if report.count or action is None or rule_id is None:
        return None
    rank = URGENCIES.index(action["urgency"]) if action["urgency"] else -1
    return CompiledRule(index=index, id=rule_id, condition=condition, fallback=fallback,
                        urgency_rank=rank, **action)


def _rule_id(rule_id: object, report: Report) -> str | None:
    if rule_id is None:
        report("id", ja("ルールの id がありません", "missing id"))
        return None
    if not isinstance(rule_id, str) or not _RULE_ID.fullmatch(rule_id):
        report("id", ja("半角の英数字と _ . - で書いてください。例: emergency_food",
                        "an id is text of letters, digits, _ . - (e.g. emergency_food)"))
        return None
    return rule_id


def _fallback_flag(raw: Mapping, report: Report) -> bool:
    flag = raw.get("fallback", False)
    if not isinstance(flag, bool):
        report("fallback", ja("はい・いいえを true か false で指定してください",
                              "must be true or false"))
        return False
    return flag


def _condition(raw: Mapping, fallback: bool, tables: Mapping[str, Table | None],
               report: Report, areas: Mapping[str, str] | None = None) -> Condition | None:
    if fallback:
        if "when" in raw:
            report("when", ja("フォールバックのルールには when を書きません。ほかのどのルールも"
                              "紹介しなかったときに使われます",
                              "the fallback rule has no condition: it applies when no other "
                              "rule refers"))
        return None
    if "when" not in raw:
        report("when", ja("条件 when がありません", "missing condition"))
        return None
    return ConditionCompiler(tables, report, areas).compile(raw["when"], "when")


def _action(then: object, partners: frozenset[str], fallback: bool,
            report: Report) -> dict[str, Any] | None:
    if not isinstance(then, Mapping):
        report("then", ja("行き先の then がないか、マッピングになっていません。action・partners・"
                          "method・reason を書いてください",
                          "missing or not a mapping of action, partners, method and reason"))
        return None
    for key in then:
        if key not in _ACTION_KEYS:
            keys = ", ".join(_ACTION_KEYS)
            report(f"then.{key}", ja(f"使えないキーです。then に書けるのは {keys} です",
                                     f"unknown key; an action has {keys}"))
    action = _choice(then, "action", ACTIONS, report, required=True)
    if fallback and action == "suggest":
        report("then.action", ja("フォールバックのルールの action は refer にしてください。"
                                 "suggest では「断らない」が守れません",
                                 "the fallback rule must refer, or 断らない does not hold"))
    fields = {
        "action": action,
        "partners": _partners(then.get("partners"), partners, report),
        "method": _choice(then, "method", METHODS, report, required=True),
        "reason": _reason(then.get("reason"), report),
        "urgency": _choice(then, "urgency", URGENCIES, report, required=False),
        "legal_basis": _choice(then, "legal_basis", LEGAL_BASES, report, required=False),
    }
    required = ("action", "partners", "method", "reason")
    return None if any(fields[key] is None for key in required) else fields


def _choice(then: Mapping, key: str, choices: tuple[str, ...], report: Report,
            required: bool) -> str | None:
    value = then.get(key)
    listed = ", ".join(choices)
    if value is None:
        if required:
            report(f"then.{key}", ja(f"必須の {key} がありません。{listed} のいずれかを指定して"
                                     f"ください",
                                     f"missing {key}; one of {listed}"))
        return None
    if value not in choices:
        report(f"then.{key}", ja(f"使えない値です: {value!r}。{listed} のいずれかを指定して"
                                 f"ください", f"unknown {key} {value!r}; one of {listed}"))
        return None
    return value


def _partners(value: object, known: frozenset[str], report: Report) -> tuple[str, ...] | None:
    if not isinstance(value, list) or not value:
        report("then.partners", ja("連携先のコードを一つ以上、リストで書いてください",
                                   "must be a non-empty list of partner codes"))
        return None
    ok = True
    for i, code in enumerate(value):
        if not isinstance(code, str) or code not in known:
            report(f"then.partners[{i}]", ja(f"連携先の一覧にないコードです: {code!r}",
                                             f"unknown partner {code!r}"))
            ok = False
        elif code in value[:i]:
            report(f"then.partners[{i}]", ja(f"連携先 {code!r} が二度書かれています",
                                             f"partner {code!r} listed twice"))
            ok = False
    return tuple(value) if ok else None


def _reason(value: object, report: Report) -> str | None:
    if not isinstance(value, str) or not value.strip():
        report("then.reason", ja("理由 reason がありません。その連携先につなぐ理由を日本語で書いて"
                                 "ください",
                                 "missing reason: say in Japanese why the person goes there"))
        return None
    if not _JAPANESE.search(value):
        report("then.reason", ja("理由 reason は職員と連携先に表示されます。日本語で書いてください",
                                 "the reason is shown to staff and partners: write it in "
                                 "Japanese"))
        return None
    return value.strip()
