"""Japanese era (和暦) dates: parsing staff input and formatting for display.

Era boundaries (the first day of a new era is the day of accession, so the old era's
last day is the day before)::

    明治 M  1873-01-01* – 1912-07-29
    大正 T  1912-07-30  – 1926-12-24
    昭和 S  1926-12-25  – 1989-01-07
    平成 H  1989-01-08  – 2019-04-30
    令和 R  2019-05-01  –

\\* 明治 formally starts in 1868, but Japan used the lunisolar calendar until
明治5年12月2日; the next day was 明治6年1月1日 = 1873-01-01. Earlier 明治 dates
cannot be mapped to a Gregorian date by arithmetic, so they are rejected rather than
silently shifted. No living client is affected.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime

__all__ = ["ERAS", "Era", "WarekiError", "era_of", "format_wareki", "parse_date"]


class WarekiError(ValueError):
    """A date string that cannot be parsed, or names a day that does not exist."""


@dataclass(frozen=True)
class Era:
    name: str  # 昭和
    letter: str  # S
    romaji: str  # Showa
    first_year: int  # Gregorian year of 元年
    start: date  # first supported day
    end: date | None  # last day, None for the current era


ERAS: tuple[Era, ...] = (
    Era("明治", "M", "Meiji", 1868, date(1873, 1, 1), date(1912, 7, 29)),
    Era("大正", "T", "Taisho", 1912, date(1912, 7, 30), date(1926, 12, 24)),
    Era("昭和", "S", "Showa", 1926, date(1926, 12, 25), date(1989, 1, 7)),
    Era("平成", "H", "Heisei", 1989, date(1989, 1, 8), date(2019, 4, 30)),
    Era("令和", "R", "Reiwa", 2019, date(2019, 5, 1), None),
)

_ERA_BY_TOKEN: dict[str, Era] = {}
for _era in ERAS:
    _ERA_BY_TOKEN[_era.name] = _era  # 昭和
    _ERA_BY_TOKEN[_era.name[0]] = _era  # 昭 (as in 昭27.4.1)
    _ERA_BY_TOKEN[_era.letter] = _era  # S (upper-cased before lookup)

_SEP = r"[./\-]"
_ISO = re.compile(
    rf"(?P<y>[0-9]{{4}})(?:{_SEP}(?P<m>[0-9]{{1,2}}){_SEP}(?P<d>[0-9]{{1,2}})"
    r"|年(?P<m2>[0-9]{1,2})月(?P<d2>[0-9]{1,2})日?)"
)
_WAREKI = re.compile(
    r"(?P<era>明治|大正|昭和|平成|令和|[明大昭平令]|[MTSHRmtshr])"
    r"(?P<n>元|[0-9]{1,3})"
    rf"(?:{_SEP}(?P<m>[0-9]{{1,2}}){_SEP}(?P<d>[0-9]{{1,2}})"
    r"|年(?P<m2>[0-9]{1,2})月(?P<d2>[0-9]{1,2})日?)"
)


def _year_label(era: Era, n: int) -> str:
    return f"{era.name}{'元' if n == 1 else n}年"


def parse_date(text: str) -> date:
    """Parse an ISO or 和暦 date typed by staff.

    Accepted (after NFKC, so full-width digits and ．／－ work; spaces are ignored):

    * ``2026-04-01``, ``2026/4/1``, ``2026.4.1``, ``2026年4月1日``
    * ``昭和27年4月1日``, ``令和元年5月1日``, ``昭27.4.1``, ``S27.4.1``, ``s27/4/1``,
      ``H31-4-30``, ``R元.5.1`` — era as name, first kanji, or letter M/T/S/H/R
      (any case); ``元`` = year 1; the trailing 日 is optional; ㍼/㋿ etc. work via NFKC.

    Raises :class:`WarekiError` (a ``ValueError``) with a Japanese + English message
    for unknown formats, impossible days (2月30日), and era-year combinations that
    fall outside the era (平成31年5月1日, 昭和64年1月8日, 令和1年4月30日).
    """
    s = "".join(unicodedata.normalize("NFKC", text).split())

    m = _ISO.fullmatch(s)
    if m:
        y, mo, d = int(m["y"]), int(m["m"] or m["m2"]), int(m["d"] or m["d2"])
        try:
            return date(y, mo, d)
        except ValueError:
            raise WarekiError(
                f"{y}年{mo}月{d}日は存在しない日付です / {text!r} is not a valid date"
            ) from None

    m = _WAREKI.fullmatch(s)
    if not m:
        raise WarekiError(
            f"日付の形式が正しくありません: {text!r}（例: 昭和27年4月1日、S27.4.1、2026-04-01）"
            f" / unrecognised date format {text!r} (e.g. 昭和27年4月1日, S27.4.1, 2026-04-01)"
        )
    era = _ERA_BY_TOKEN[m["era"].upper()]
    n = 1 if m["n"] == "元" else int(m["n"])
    mo, d = int(m["m"] or m["m2"]), int(m["d"] or m["d2"])
    if n < 1:
        raise WarekiError(
            f"{era.name}{n}年は存在しません（元年は1年） / {era.romaji} years start at 1 (元年)"
        )
    label = f"{_year_label(era, n)}{mo}月{d}日"
    y = era.first_year + n - 1
    try:
        result = date(y, mo, d)
    except ValueError:
        raise WarekiError(
            f"{label}は存在しない日付です / {text!r} is not a valid date ({era.romaji} {n} = {y})"
        ) from None
    if result < era.start:
        if era.name == "明治":
            raise WarekiError(
                f"{label}は旧暦の日付のため変換できません（明治6年1月1日以降に対応） / "
                "dates before Meiji 6 (1873-01-01, adoption of the Gregorian calendar) "
                "are not supported"
            )
        raise WarekiError(
            f"{label}は存在しません（{era.name}は{_kanji_date(era.start)}から） / "
            f"{era.romaji} began on {era.start.isoformat()}"
        )
    if era.end is not None and result > era.end:
        raise WarekiError(
            f"{label}は存在しません（{era.name}は{_kanji_date(era.end)}まで） / "
            f"{era.romaji} ended on {era.end.isoformat()}"
        )
    return result


def _kanji_date(d: date) -> str:
    return f"{d.year}年{d.month}月{d.day}日"


def era_of(d: date) -> Era:
    """The era a (Gregorian) date belongs to; ``WarekiError`` before 1873-01-01."""
    if isinstance(d, datetime):
        d = d.date()
    for era in reversed(ERAS):
        if d >= era.start:
            return era
    raise WarekiError(
        f"{_kanji_date(d)}は和暦に変換できません（明治6年1月1日以降に対応） / "
        "dates before 1873-01-01 are not supported"
    )


def format_wareki(d: date) -> str:
    """Format a date as 和暦: ``昭和27年4月1日``; year 1 is written ``元年``.

    >>> format_wareki(date(2019, 5, 1))
    '令和元年5月1日'

    A ``datetime`` is formatted by its own (wall-clock) date; convert it to Tokyo time
    first if it is aware and in another zone.
    """
    if isinstance(d, datetime):
        d = d.date()
    era = era_of(d)
    return f"{_year_label(era, d.year - era.first_year + 1)}{d.month}月{d.day}日"
