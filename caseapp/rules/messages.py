"""Messages people read (admin page, `caseapp rules check`, the API): Japanese first, then the
English in brackets, so an English-reading maintainer and existing tooling can still follow."""

from __future__ import annotations


def ja(japanese: str, english: str) -> str:
    return f"{japanese}（{english}）"


_TYPE_NAMES = {bool: "true/false", str: "文字列", list: "リスト", float: "小数", dict: "マッピング",
               type(None): "空"}


def type_name_ja(value: object) -> str:
    return _TYPE_NAMES.get(type(value), type(value).__name__)
