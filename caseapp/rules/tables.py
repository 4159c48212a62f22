"""Thresholds and keyword lists kept as data in the rule file (the ``tables:`` section).

Three shapes:

* an integer: ``scrivener_limit: 1400000``
* a list of texts or integers: ``listen_keywords: [話を聞いて, 話し相手]``
* a table keyed by a positive integer (household size):
  ``legal_aid_income: {rows: {1: 182000, 2: 251000}, each_further: 30000}``.
  Keys above the last row add ``each_further`` per step; without it they find nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from caseapp.rules.messages import ja
from caseapp.rules.vocab import is_int

SCALAR, LIST, KEYED = "integer", "list", "keyed"

Report = Callable[[str, str], None]


@dataclass(frozen=True)
class Table:
    name: str
    kind: str
    value: int | tuple = ()  # SCALAR: the int; LIST: the items
    rows: Mapping[int, int] = field(default_factory=dict)
    each_further: int | None = None

    def lookup(self, key: int | None) -> int | None:
        if key is None:
            return None
        found = self.rows.get(key)
        if found is not None or self.each_further is None or not self.rows:
            return found
        last = len(self.rows)  # rows are 1..N without gaps (checked when parsed)
        return self.rows[last] + (key - last) * self.each_further if key > last else None


def parse_tables(data: object, report: Report) -> dict[str, Table | None]:
    """Returns name -> Table; a malformed table maps to None so references to it stay known."""
    if data is None:
        return {}
    if not isinstance(data, Mapping):
        report("tables", ja("「表の名前: 表」のマッピングで書いてください",
                            "must be a mapping of table name to table"))
        return {}
    tables: dict[str, Table | None] = {}
    for name, body in data.items():
        if not isinstance(name, str) or not name:
            report(f"tables.{name}", ja("表の名前は文字列にしてください",
                                        "a table name must be text"))
            continue
        tables[name] = _parse_table(name, body, report)
    return tables


def _parse_table(name: str, body: object, report: Report) -> Table | None:
    path = f"tables.{name}"
    if is_int(body):
        return Table(name, SCALAR, body)
    if isinstance(body, list):
        return _parse_list(name, body, report)
    if isinstance(body, Mapping):
        return _parse_keyed(name, body, report)
    report(path, ja("表は整数、リスト、{rows: {1: ..., 2: ...}, each_further: ...} のいずれかで"
                    "書いてください",
                    "a table is an integer, a list, or "
                    "{rows: {1: ..., 2: ...}, each_further: ...}"))
    return None


def _parse_list(name: str, body: list, report: Report) -> Table | None:
    path = f"tables.{name}"
    if not body:
        report(path, ja("リストの表が空です。値を一つ以上書いてください",
                        "a list table must not be empty"))
        return None
    texts = all(isinstance(item, str) and item for item in body)
    if not texts and not all(is_int(item) for item in body):
        report(path, ja("リストの表には、空でない文字列だけか、整数だけを入れてください",
                        "a list table holds only non-empty texts or only integers"))
        return None
    return Table(name, LIST, tuple(body))


def _parse_keyed(name: str, body: Mapping, report: Report) -> Table | None:
    path = f"tables.{name}"
    ok = True
    for key in body:
        if key not in ("rows", "each_further"):
            report(f"{path}.{key}", ja("使えないキーです。キーで引く表に書けるのは rows と "
                                       "each_further です",
                                       "unknown key (a keyed table has rows and each_further)"))
            ok = False
    further = body.get("each_further")
    if further is not None and not (is_int(further) and further >= 0):
        report(f"{path}.each_further", ja("0 以上の整数で指定してください",
                                          "must be a non-negative integer"))
        ok = False
    rows = _parse_rows(path, body.get("rows"), report)
    if rows is None or not ok:
        return None
    return Table(name, KEYED, rows=rows, each_further=further)


def _parse_rows(path: str, rows: object, report: Report) -> dict[int, int] | None:
    if not isinstance(rows, Mapping) or not rows:
        report(f"{path}.rows", ja("1, 2, 3 … ごとの整数を一つ以上、マッピングで書いてください",
                                  "must be a non-empty mapping of 1, 2, 3 ... to integers"))
        return None
    parsed: dict[int, int] = {}
    ok = True
    for key, value in rows.items():
        number = _row_key(key)
        if number is None:
            report(f"{path}.rows.{key}", ja("行のキーは 1 以上の整数にしてください",
                                            "a row key must be a positive integer"))
            ok = False
        elif not is_int(value):
            report(f"{path}.rows.{key}", ja("行の値は整数にしてください",
                                            "a row value must be an integer"))
            ok = False
        else:
            parsed[number] = value
    if ok and sorted(parsed) != list(range(1, len(parsed) + 1)):
        report(f"{path}.rows", ja("行のキーは 1, 2, 3 … と抜けなく並べてください",
                                  "row keys must run 1, 2, 3 ... without gaps"))
        ok = False
    return parsed if ok else None


def _row_key(key: object) -> int | None:
    # JSON object keys are always strings, so "1" and 1 are the same row.
    if isinstance(key, str) and key.isdecimal() and key.isascii():
        key = int(key)
    return key if is_int(key) and key >= 1 else None
