"""How a client search string is read: a phone number, or name and reading words.

Pure: the service turns the words into SQL (caseapp.services.clients.records).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from caseapp.jp.names import search_key
from caseapp.jp.phone import phone_digits


class EmptyQuery(ValueError):
    """Nothing searchable is left once the string is normalised."""


_PHONE_CHARS = frozenset("0123456789-()+ \u2010\u2011\u2012\u2013\u2014\u2015\u2212\u30fc")
MIN_PHONE_DIGITS = 3
_COUNTRY_CODE = re.compile(r"^\+\s*81[\s\-]*(?:\(0\))?")


@dataclass(frozen=True)
class Query:
    """A search string understood either as a phone number or as name/reading tokens."""

    tokens: tuple[str, ...] = ()
    digits: str | None = None
    #: ``digits`` is a whole Japanese number. Numbers start with 0 and no number's second
    #: digit is 0, so a whole number is never inside another one: equality is enough.
    whole_number: bool = False

    @property
    def key(self) -> str:
        return "".join(self.tokens)


def parse_query(q: str) -> Query:
    text = unicodedata.normalize("NFKC", q or "").strip()
    digits = "".join(ch for ch in _COUNTRY_CODE.sub("0", text, count=1) if ch.isdigit())
    if text and set(text) <= _PHONE_CHARS and len(digits) >= MIN_PHONE_DIGITS:
        try:
            return Query(digits=phone_digits(text), whole_number=True)
        except ValueError:  # a part of a number is searched as typed
            return Query(digits=digits)
    # Each space-separated word must match the name or the reading, so 「山田 たろう」 finds
    # 山田太郎 (ヤマダ タロウ); without spaces the whole key must match one of them.
    tokens = tuple(t for t in (search_key(w) for w in text.split()) if t)
    if not tokens:
        raise EmptyQuery(q)
    return Query(tokens=tokens)
