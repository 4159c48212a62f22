"""Conditions: checked and compiled once into closures over the context dict.

Three-valued logic: a test returns True, False or None ("unknown", a fact is missing).
``all`` is False if any part is False, else None if any part is None; ``any`` is True if any part
is True, else None if any part is None; ``not`` turns None into None. A rule fires only on True,
so a missing fact never routes anyone, not even through ``not``.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from caseapp.rules.fields import (
    AREA,
    AREA_NAMES,
    BOOL,
    EACH,
    ENUM,
    FIELDS,
    INT,
    SET,
    TEXT,
    FieldSpec,
    normalise_text,
)
from caseapp.rules.messages import ja, type_name_ja
from caseapp.rules.tables import KEYED, LIST, SCALAR, Report, Table
from caseapp.rules.vocab import is_int

Context = dict[str, Any]
Test = Callable[[Context], "bool | None"]

COMPARISONS: dict[str, tuple[Callable[[Any, Any], bool], str]] = {
    "eq": (operator.eq, "=="),
    "ne": (operator.ne, "!="),
    "gt": (operator.gt, ">"),
    "gte": (operator.ge, ">="),
    "lt": (operator.lt, "<"),
    "lte": (operator.le, "<="),
}
PRESENCE = ("exists", "missing")
OPERATORS_BY_KIND: dict[str, tuple[str, ...]] = {
    INT: (*COMPARISONS, "between", "in", "not_in", *PRESENCE),
    EACH: (*COMPARISONS, "between"),
    BOOL: ("is_true", "is_false", "eq", "ne", *PRESENCE),
    ENUM: ("eq", "ne", "in", "not_in", *PRESENCE),
    SET: ("has_any", "has_all", "has_none", *PRESENCE),
    TEXT: ("contains_any", "contains_all"),
    AREA: ("eq", "ne", "in", "not_in", *PRESENCE),
}
OPERATORS = frozenset(op for ops in OPERATORS_BY_KIND.values() for op in ops)
_NO_VALUE = frozenset({"is_true", "is_false", *PRESENCE})
_COMBINATORS = ("all", "any", "not")
_LEAF_KEYS = ("fact", "op", "value")
_CHOICE_NOUN = {"topics": "topic code", "benefits": "benefit", "housing": "housing value"}
_CHOICE_NOUN_JA = {"topics": "相談分野のコード", "benefits": "給付", "housing": "住まいの状況",
                   "urgency": "緊急度", "channel": "相談の経路"}
_KIND_JA = {SCALAR: "整数の表", LIST: "リストの表", KEYED: "キーで引く表"}
_LEVEL_JA = {"district": "地区", "small_area": "小地域"}


class Condition:
    """A compiled condition. ``test`` is all evaluation needs; the rest explains a match.

    ``spec`` is the condition as written (``age >= 65``), used to explain a ``not``: the
    state a leaf reports ("employed is false") would read wrongly after a "not".
    """

    test: Test
    spec: str = ""

    def matched(self, ctx: Context) -> list[str]:
        raise NotImplementedError

    def words(self, ctx: Context) -> list[str]:
        """The keywords found in the text by the parts that made this condition true."""
        return []


class Leaf(Condition):
    def __init__(self, test: Test, describe: Callable[[Context], str],
                 found: Callable[[Context], list[str]] | None = None):
        self.test = test
        self.describe = describe
        self.found = found

    def matched(self, ctx: Context) -> list[str]:
        return [self.describe(ctx)] if self.test(ctx) else []

    def words(self, ctx: Context) -> list[str]:
        return self.found(ctx) if self.found is not None and self.test(ctx) else []


class All(Condition):
    def __init__(self, parts: list[Condition]):
        self.parts = parts
        self.test = _all_test(tuple(p.test for p in parts))
        self.spec = "(" + " and ".join(p.spec for p in parts) + ")"

    def matched(self, ctx: Context) -> list[str]:
        return [m for p in self.parts for m in p.matched(ctx)]

    def words(self, ctx: Context) -> list[str]:
        return [w for p in self.parts for w in p.words(ctx)]


class AnyOf(Condition):
    def __init__(self, parts: list[Condition]):
        self.parts = parts
        self.test = _any_test(tuple(p.test for p in parts))
        self.spec = "(" + " or ".join(p.spec for p in parts) + ")"

    def matched(self, ctx: Context) -> list[str]:
        return [m for p in self.parts if p.test(ctx) for m in p.matched(ctx)]

    def words(self, ctx: Context) -> list[str]:
        return [w for p in self.parts if p.test(ctx) for w in p.words(ctx)]


class Not(Condition):
    def __init__(self, part: Condition):
        self.part = part
        self.test = _not_test(part.test)
        self.spec = f"not {part.spec}" if part.spec.startswith("(") else f"not ({part.spec})"

    def matched(self, ctx: Context) -> list[str]:
        return [self.spec] if self.test(ctx) else []


def _all_test(tests: tuple[Test, ...]) -> Test:
    if len(tests) == 1:
        return tests[0]
    if len(tests) == 2:
        return _all_pair(*tests)

    def test(ctx: Context) -> bool | None:
        result: bool | None = True
        for part in tests:
            value = part(ctx)
            if value is False:
                return False
            if value is None:
                result = None
        return result
    return test


def _all_pair(first: Test, second: Test) -> Test:
    # Most conditions have two parts; unrolled, evaluation of the 1,000-rule bench is ~15% faster.
    def test(ctx: Context) -> bool | None:
        a = first(ctx)
        if a is False:
            return False
        b = second(ctx)
        if b is False:
            return False
        return None if a is None or b is None else True
    return test


def _any_test(tests: tuple[Test, ...]) -> Test:
    if len(tests) == 1:
        return tests[0]
    if len(tests) == 2:
        return _any_pair(*tests)

    def test(ctx: Context) -> bool | None:
        result: bool | None = False
        for part in tests:
            value = part(ctx)
            if value:
                return True
            if value is None:
                result = None
        return result
    return test


def _any_pair(first: Test, second: Test) -> Test:
    def test(ctx: Context) -> bool | None:
        a = first(ctx)
        if a:
            return True
        b = second(ctx)
        if b:
            return True
        return None if a is None or b is None else False
    return test


def _not_test(inner: Test) -> Test:
    def test(ctx: Context) -> bool | None:
        value = inner(ctx)
        return None if value is None else not value
    return test


@dataclass(frozen=True)
class Threshold:
    """A number to compare with: a literal, a scalar table, or a keyed-table look-up."""

    const: Any = None
    table: Table | None = None
    key_name: str = ""
    key_source: str = ""

    def value(self, ctx: Context) -> Any:
        if self.table is None or self.table.kind == SCALAR:
            return self.const
        return self.table.lookup(ctx[self.key_source])

    def text(self, ctx: Context) -> str:
        if self.table is None:
            return _fmt(self.const)
        if self.table.kind == SCALAR:
            return f"{self.table.name} {self.const}"
        key = _fmt(ctx[self.key_source])
        return f"{self.table.name}[{self.key_name}={key}] {_fmt(self.value(ctx))}"


class ConditionCompiler:
    """Checks a condition tree and builds it; every problem goes to ``report(path, message)``."""

    def __init__(self, tables: Mapping[str, Table | None], report: Report,
                 areas: Mapping[str, str] | None = None):
        self.tables = tables
        self.report = report
        # Area code -> level, when the caller knows the municipality's areas; None: any code.
        self.areas = areas

    def compile(self, node: object, path: str) -> Condition | None:
        if not isinstance(node, Mapping):
            self.report(path, ja("条件は {fact, op, value} か、all・any・not のマッピングで書いて"
                                 "ください",
                                 "a condition is a mapping: {fact, op, value} or all/any/not"))
            return None
        combinators = [key for key in _COMBINATORS if key in node]
        if combinators:
            return self._combinator(combinators[0], node, path)
        return self._leaf(node, path)

    def _combinator(self, key: str, node: Mapping, path: str) -> Condition | None:
        if len(node) != 1:
            others = ", ".join(str(k) for k in node if k != key)
            self.report(path, ja(f"一つのマッピングに書ける組み合わせは一つだけです。'{key}' と "
                                 f"{others} を分けてください",
                                 f"'{key}' must be alone in its mapping (also found: {others})"))
            return None
        body = node[key]
        if key == "not":
            part = self.compile(body, f"{path}.not")
            return Not(part) if part is not None else None
        if not isinstance(body, list) or not body:
            self.report(f"{path}.{key}", ja("条件を一つ以上、リストで書いてください",
                                            "must be a non-empty list of conditions"))
            return None
        parts = [self.compile(item, f"{path}.{key}[{i}]") for i, item in enumerate(body)]
        if any(part is None for part in parts):
            return None
        return All(parts) if key == "all" else AnyOf(parts)

    def _leaf(self, node: Mapping, path: str) -> Condition | None:
        ok = True
        for key in node:
            if key not in _LEAF_KEYS:
                self.report(f"{path}.{key}", ja(
                    "使えないキーです。条件に書けるのは fact・op・value か、all・any・not です",
                    "unknown key; a condition has fact, op and value, or is all/any/not"))
                ok = False
        name, spec = self._fact(node, path)
        op = self._operator(node, spec, path)
        if spec is None or op is None or not self._value_present(node, op, path):
            return None
        built = _BUILDERS[op](self, name, spec, op, node.get("value"), f"{path}.value")
        if built is None or not ok:
            return None
        built.spec = _spec_text(name, op, node)
        return built

    def _fact(self, node: Mapping, path: str) -> tuple[str, FieldSpec | None]:
        name = node.get("fact")
        if name is None:
            self.report(f"{path}.fact", ja("項目名 fact がありません", "missing fact name"))
            return "", None
        spec = FIELDS.get(name) if isinstance(name, str) else None
        if spec is None:
            self.report(f"{path}.fact", ja(f"条件に使える項目ではありません: {name!r}",
                                           f"unknown fact {name!r}"))
        return name, spec

    def _operator(self, node: Mapping, spec: FieldSpec | None, path: str) -> str | None:
        op = node.get("op")
        if op is None:
            self.report(f"{path}.op", ja("演算子 op がありません", "missing operator"))
            return None
        if not isinstance(op, str) or op not in OPERATORS:
            self.report(f"{path}.op", ja(f"使えない演算子です: {op!r}", f"unknown operator {op!r}"))
            return None
        if spec is None:
            return None
        allowed = _allowed(spec)
        if op not in allowed:
            listed, fact = ", ".join(allowed), node["fact"]
            self.report(f"{path}.op", ja(
                f"演算子 {op!r} は項目 {fact!r} には使えません。{listed} のいずれかを"
                f"使ってください",
                f"operator {op!r} does not apply to {fact!r} ({spec.kind}); use one of {listed}"))
            return None
        return op

    def _value_present(self, node: Mapping, op: str, path: str) -> bool:
        if op in _NO_VALUE and "value" in node:
            self.report(f"{path}.value", ja(f"演算子 {op!r} には value を書きません",
                                            f"operator {op!r} takes no value"))
            return False
        if op not in _NO_VALUE and "value" not in node:
            self.report(f"{path}.value", ja(f"演算子 {op!r} には value が必要です",
                                            f"operator {op!r} needs a value"))
            return False
        return True

    # -- values ---------------------------------------------------------------------------

    def threshold(self, value: object, path: str) -> Threshold | None:
        if isinstance(value, Mapping):
            return self._table_threshold(value, path)
        if not is_int(value):
            self.report(path, ja(f"整数か {{table: ...}} で指定してください。いまは"
                                 f"{type_name_ja(value)}です",
                                 f"must be an integer or {{table: ...}}, not {_type_name(value)}"))
            return None
        return Threshold(const=value)

    def _table_threshold(self, ref: Mapping, path: str) -> Threshold | None:
        table = self.table_ref(ref, path, (SCALAR, KEYED))
        if table is None:
            return None
        if table.kind == SCALAR:
            return Threshold(const=table.value, table=table)
        key = ref["key"]
        return Threshold(table=table, key_name=key, key_source=FIELDS[key].source)

    def items(self, value: object, path: str, want: str) -> tuple | None:
        """A non-empty list of texts (want="text") or integers, given inline or as a table."""
        check = (lambda x: isinstance(x, str) and x) if want == "text" else is_int
        if isinstance(value, Mapping):
            table = self.table_ref(value, path, (LIST,))
            if table is None:
                return None
            if not all(check(item) for item in table.value):
                wanted = "文字列" if want == "text" else "整数"
                self.report(f"{path}.table", ja(
                    f"表 {table.name!r} はここでは使えません。{wanted}だけの表を指定してください",
                    f"table {table.name!r} does not hold {want}s here"))
                return None
            return table.value
        if not isinstance(value, list) or not value:
            self.report(path, ja(f"一つ以上の値をリストで指定してください。いまは"
                                 f"{type_name_ja(value)}です",
                                 f"must be a non-empty list, not {_type_name(value)}"))
            return None
        bad = [i for i, item in enumerate(value) if not check(item)]
        for i in bad:
            if want == "text":
                self.report(f"{path}[{i}]", ja("文字列で指定してください", "must be text"))
            else:
                self.report(f"{path}[{i}]", ja("整数で指定してください", "must be an integer"))
        return None if bad else tuple(value)

    def choices(self, name: str, spec: FieldSpec, value: object, path: str) -> tuple | None:
        items = self.items(value, path, "text")
        if items is None:
            return None
        noun, noun_ja = _CHOICE_NOUN.get(name, name), _CHOICE_NOUN_JA.get(name, name)
        bad = [(i, item) for i, item in enumerate(items) if item not in spec.choices]
        for i, item in bad:
            where = path if isinstance(value, Mapping) else f"{path}[{i}]"
            self.report(where, ja(f"{noun_ja}にない値です: {item!r}", f"unknown {noun} {item!r}"))
        return None if bad else items

    def area_codes(self, spec: FieldSpec, value: object, path: str) -> tuple | None:
        """Codes of areas of the fact's level: one text (eq, ne) or a list of them."""
        items = self.items([value] if isinstance(value, str) else value, path, "text")
        if items is None:
            return None
        if self.areas is None:
            return items
        level = spec.choices[0]
        bad = False
        for i, code in enumerate(items):
            where = path if isinstance(value, (str, Mapping)) else f"{path}[{i}]"
            found = self.areas.get(code)
            if found is None:
                self.report(where, ja(f"この市町村の{_LEVEL_JA[level]}にないコードです: {code!r}",
                                      f"unknown {level} code {code!r}"))
                bad = True
            elif found != level:
                self.report(where, ja(
                    f"{code!r} は{_LEVEL_JA.get(found, found)}のコードです。ここには"
                    f"{_LEVEL_JA[level]}のコードを書いてください",
                    f"{code!r} is a {found} code; a {level} code is needed here"))
                bad = True
        return None if bad else items

    def table_ref(self, ref: Mapping, path: str, kinds: tuple[str, ...]) -> Table | None:
        if not _valid_ref_shape(ref):
            self.report(path, ja("表の参照は {table: 表の名前} か {table: 表の名前, key: 項目名} "
                                 "で書いてください",
                                 "a table reference is {table: NAME} or {table: NAME, key: FACT}"))
            return None
        name = ref["table"]
        if name not in self.tables:
            self.report(f"{path}.table", ja(f"表が tables に定義されていません: {name!r}",
                                            f"undefined table {name!r}"))
            return None
        table = self.tables[name]
        if table is None:
            return None  # already reported where the table is defined
        if table.kind not in kinds:
            wanted = " or ".join(kinds)
            wanted_ja = "か".join(_KIND_JA[kind] for kind in kinds)
            self.report(f"{path}.table", ja(
                f"表 {name!r} は{_KIND_JA[table.kind]}です。ここには{wanted_ja}が必要です",
                f"table {name!r} is {table.kind}, here {wanted} needed"))
            return None
        return table if self._key_fits(table, ref, path) else None

    def _key_fits(self, table: Table, ref: Mapping, path: str) -> bool:
        key = ref.get("key")
        if table.kind != KEYED:
            if key is not None:
                self.report(f"{path}.key", ja(
                    f"表 {table.name!r} はキーで引く表ではありません。key を消してください",
                    f"table {table.name!r} is not keyed; drop the key"))
            return key is None
        if key is None:
            self.report(f"{path}.key", ja(
                f"表 {table.name!r} はキーで引く表です。引くための項目を key に書いてください。"
                f"例: key: household_size",
                f"table {table.name!r} is keyed: name the fact to look up with, "
                f"e.g. key: household_size"))
            return False
        if FIELDS.get(key) is None or FIELDS[key].kind != INT:
            self.report(f"{path}.key", ja(f"引くための項目には整数の項目を指定してください。"
                                          f"{key!r} は使えません",
                                          f"key must be an integer fact, not {key!r}"))
            return False
        return True


def _valid_ref_shape(ref: Mapping) -> bool:
    return (isinstance(ref.get("table"), str) and set(ref) <= {"table", "key"}
            and (ref.get("key") is None or isinstance(ref.get("key"), str)))


def _allowed(spec: FieldSpec) -> tuple[str, ...]:
    ops = OPERATORS_BY_KIND[spec.kind]
    return ops if spec.optional else tuple(op for op in ops if op not in PRESENCE)


def _type_name(value: object) -> str:
    names = {bool: "true/false", str: "text", list: "a list", float: "a decimal number",
             type(None): "nothing"}
    return names.get(type(value), type(value).__name__)


def _spec_text(name: str, op: str, node: Mapping) -> str:
    word = COMPARISONS[op][1] if op in COMPARISONS else op.replace("_", " ")
    if "value" not in node:
        return f"{name} {word}"
    value = node["value"]
    if isinstance(value, Mapping):
        key = value.get("key")
        text = f"{value['table']}[{key}]" if key else str(value["table"])
    else:
        text = _fmt(value)
    return f"{name} {word} {text}"


def _fmt(value: object) -> str:
    if value is None:
        return "(missing)"
    if isinstance(value, (frozenset, set)):
        return "[" + ", ".join(sorted(value)) + "]"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_fmt(v) for v in value) + "]"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


# -- builders: one per operator family; each checks its value and returns a Leaf ------------

def _build_compare(c: ConditionCompiler, name: str, spec: FieldSpec, op: str, value: object,
                   path: str) -> Leaf | None:
    if spec.kind == BOOL:
        if not isinstance(value, bool):
            c.report(path, ja(f"はい・いいえを true か false で指定してください。いまは"
                              f"{type_name_ja(value)}です",
                              f"must be true or false, not {_type_name(value)}"))
            return None
        return _bool_leaf(name, spec.source, value if op == "eq" else not value)
    if spec.kind == ENUM:
        if value not in spec.choices:
            noun, noun_ja = _CHOICE_NOUN.get(name, name), _CHOICE_NOUN_JA.get(name, name)
            listed = ", ".join(spec.choices)
            c.report(path, ja(f"{noun_ja}にない値です: {value!r}。{listed} のいずれかを指定して"
                              f"ください", f"unknown {noun} {value!r}; one of {listed}"))
            return None
        return _member_leaf(name, spec.source, frozenset([value]), op == "eq")
    if spec.kind == AREA:
        if not isinstance(value, str) or not value:
            c.report(path, ja(f"地域のコードを文字列で指定してください。いまは"
                              f"{type_name_ja(value)}です",
                              f"must be an area code (text), not {_type_name(value)}"))
            return None
        codes = c.area_codes(spec, value, path)
        return None if codes is None else _area_leaf(name, spec.source, frozenset(codes),
                                                     op == "eq")
    threshold = c.threshold(value, path)
    if threshold is None:
        return None
    fn, symbol = COMPARISONS[op]
    return _number_leaf(name, spec, fn, symbol, threshold)


def _build_between(c: ConditionCompiler, name: str, spec: FieldSpec, op: str, value: object,
                   path: str) -> Leaf | None:
    ok = (isinstance(value, list) and len(value) == 2 and all(is_int(v) for v in value)
          and value[0] <= value[1])
    if not ok:
        c.report(path, ja("[下限, 上限] の二つの整数で指定してください。下限 <= 上限で、両端を"
                          "含みます", "must be [low, high]: two integers, low <= high "
                                     "(both included)"))
        return None
    bounds = (value[0], value[1])
    return _number_leaf(name, spec, _within, "between", Threshold(const=bounds))


def _within(value: int, bounds: tuple[int, int]) -> bool:
    return bounds[0] <= value <= bounds[1]


def _build_member(c: ConditionCompiler, name: str, spec: FieldSpec, op: str, value: object,
                  path: str) -> Leaf | None:
    if spec.kind == AREA:
        codes = c.area_codes(spec, value, path)
        return None if codes is None else _area_leaf(name, spec.source, frozenset(codes),
                                                     op == "in")
    if spec.kind == ENUM:
        items = c.choices(name, spec, value, path)
    else:
        items = c.items(value, path, "integer")
    if items is None:
        return None
    return _member_leaf(name, spec.source, frozenset(items), op == "in")


def _build_bool(c: ConditionCompiler, name: str, spec: FieldSpec, op: str, value: object,
                path: str) -> Leaf:
    return _bool_leaf(name, spec.source, op == "is_true")


def _build_presence(c: ConditionCompiler, name: str, spec: FieldSpec, op: str, value: object,
                    path: str) -> Leaf:
    source, want_missing = spec.source, op == "missing"

    def test(ctx: Context) -> bool:
        return (ctx[source] is None) is want_missing

    def describe(ctx: Context) -> str:
        value = ctx[source]
        return f"{name} is missing" if value is None else f"{name} given: {_fmt(value)}"

    return Leaf(test, describe)


def _build_set(c: ConditionCompiler, name: str, spec: FieldSpec, op: str, value: object,
               path: str) -> Leaf | None:
    items = c.choices(name, spec, value, path)
    if items is None:
        return None
    wanted, source = frozenset(items), spec.source
    check = {
        "has_any": lambda have: not wanted.isdisjoint(have),
        "has_all": lambda have: wanted <= have,
        "has_none": lambda have: wanted.isdisjoint(have),
    }[op]

    def test(ctx: Context) -> bool | None:
        have = ctx[source]
        return None if have is None else check(have)

    def describe(ctx: Context) -> str:
        have = ctx[source]
        if have is None:
            return f"{name} (missing)"
        if op == "has_none":
            return f"{name} {_fmt(have)} include none of {_fmt(wanted)}"
        return f"{name} include {_fmt(have & wanted)}"

    return Leaf(test, describe)


def _build_text(c: ConditionCompiler, name: str, spec: FieldSpec, op: str, value: object,
                path: str) -> Leaf | None:
    items = c.items(value, path, "text")
    if items is None:
        return None
    keywords, source = tuple(dict.fromkeys(normalise_text(k) for k in items)), spec.source
    if op == "contains_any":
        def test(ctx: Context) -> bool:
            text = ctx[source]
            for keyword in keywords:  # noqa: SIM110 - a plain loop beats any() on this hot path
                if keyword in text:
                    return True
            return False
    else:
        def test(ctx: Context) -> bool:
            text = ctx[source]
            return all(keyword in text for keyword in keywords)

    def found(ctx: Context) -> list[str]:
        return [k for k in keywords if k in ctx[source]]

    def describe(ctx: Context) -> str:
        words = found(ctx)
        return f"{name} contains {', '.join(words)}" if words else f"{name} contains none"

    return Leaf(test, describe, found)


_BUILDERS = {
    **dict.fromkeys(COMPARISONS, _build_compare),
    "between": _build_between,
    "in": _build_member, "not_in": _build_member,
    "is_true": _build_bool, "is_false": _build_bool,
    "exists": _build_presence, "missing": _build_presence,
    "has_any": _build_set, "has_all": _build_set, "has_none": _build_set,
    "contains_any": _build_text, "contains_all": _build_text,
}


# -- leaf factories: the closures evaluation runs ------------------------------------------

def _bool_leaf(name: str, source: str, expected: bool) -> Leaf:
    def test(ctx: Context) -> bool | None:
        value = ctx[source]
        return None if value is None else value is expected

    return Leaf(test, lambda ctx: f"{name} is {_fmt(ctx[source])}")


def _member_leaf(name: str, source: str, items: frozenset, inside: bool) -> Leaf:
    def test(ctx: Context) -> bool | None:
        value = ctx[source]
        return None if value is None else (value in items) is inside

    def describe(ctx: Context) -> str:
        value = _fmt(ctx[source])
        if len(items) == 1:
            (only,) = items
            return f"{name} is {only}" if inside else f"{name} is {value}, not {only}"
        return f"{name} {value} {'in' if inside else 'not in'} {_fmt(sorted(items))}"

    return Leaf(test, describe)


def _area_leaf(name: str, source: str, codes: frozenset, inside: bool) -> Leaf:
    def test(ctx: Context) -> bool | None:
        value = ctx[source]
        return None if value is None else (value in codes) is inside

    def describe(ctx: Context) -> str:
        value = ctx[source]
        named = f"{value} ({ctx[AREA_NAMES][value]})" if value in ctx[AREA_NAMES] else value
        if len(codes) == 1 and inside:
            return f"{name} is {named}"
        return f"{name} {named} {'in' if inside else 'not in'} {_fmt(sorted(codes))}"

    return Leaf(test, describe)


def _number_leaf(name: str, spec: FieldSpec, fn: Callable, symbol: str,
                 threshold: Threshold) -> Leaf:
    if spec.kind == EACH:
        test = _each_test(spec.source, spec.quantifier == "every", fn, threshold)
    else:
        test = _compare_test(spec.source, fn, threshold)
    source = spec.source

    def describe(ctx: Context) -> str:
        if symbol == "between":
            low, high = threshold.const
            return f"{name} {_fmt(ctx[source])} between {low} and {high}"
        return f"{name} {_fmt(ctx[source])} {symbol} {threshold.text(ctx)}"

    return Leaf(test, describe)


def _compare_test(source: str, fn: Callable, threshold: Threshold) -> Test:
    if threshold.table is None or threshold.table.kind == SCALAR:
        limit = threshold.const

        def test(ctx: Context) -> bool | None:
            value = ctx[source]
            return None if value is None else fn(value, limit)
        return test

    lookup, key = threshold.table.lookup, threshold.key_source

    def test_lookup(ctx: Context) -> bool | None:
        value, limit = ctx[source], lookup(ctx[key])
        return None if value is None or limit is None else fn(value, limit)
    return test_lookup


def _each_test(source: str, every: bool, fn: Callable, threshold: Threshold) -> Test:
    """Quantifies over per-creditor values; an entry with no value is unknown.

    With no creditors at all "any" is False, but "every" is unknown: vacuous truth would send
    a person with no recorded debt to a debt specialist.
    """
    def test(ctx: Context) -> bool | None:
        values, limit = ctx[source], threshold.value(ctx)
        if values is None or limit is None or (every and not values):
            return None
        unknown = False
        for value in values:
            if value is None:
                unknown = True
            elif fn(value, limit) is not every:
                return not every
        return None if unknown else every
    return test
