"""Japanese telephone numbers and postal codes (pure functions).

Phone numbers are stored as domestic digits only (``09012345678``) and hyphenated for
display by :func:`format_phone`. Hyphenation uses a deliberately small rule table, not
the full MIC (総務省) area-code list:

=============================================  ==========  =======================
prefix (digits)                                 shape       example
=============================================  ==========  =======================
0800 free dial (11 digits)                      4-3-4       0800-123-4567
020/050/060/070/080/090 (11 digits)             3-4-4       090-1234-5678
0120/0570/0990/0180 (10 digits)                 4-3-3       0120-123-456
03 Tokyo, 06 Osaka (10 digits)                  2-4-4       03-1234-5678
0880/0883/0884/0885/0887/0889 (10 digits)       4-2-4       0887-34-1234
088 Kochi city / Tokushima (10 digits)          3-3-4       088-823-1234
any other 10 digits (fallback)                  3-3-4       011-123-4567
any other 11 digits (fallback)                  3-4-4
=============================================  ==========  =======================

The 088x rows are there because the counter is in Kochi: 088 is a 3-digit area code
(高知・徳島), while 0880 (四万十・宿毛), 0887 (安芸・室戸), 0889 (須崎・佐川) and
0883/0884/0885 (徳島県内) are 4-digit codes. Japanese numbering is prefix-free, so
088 + 0/3/4/5/7/9 is always one of those 4-digit codes. The fallback is right for the
many 3-digit area codes (011, 045, 052, 092 …) but may put the first hyphen in the
wrong place for other 2-, 4- or 5-digit area codes — the digits are always correct.
"""

from __future__ import annotations

import re
import unicodedata

__all__ = ["format_phone", "phone_digits", "postal_code"]

# "+81", optionally followed by separators and a redundant trunk "(0)": +81 (0)90-...
_COUNTRY_CODE = re.compile(r"^\+\s*81[\s\-.]*(?:\(0\))?")
_NON_DIGITS = re.compile(r"[^0-9]")

# (prefixes, total length, group sizes). First match wins, so longer prefixes first.
_PHONE_RULES: tuple[tuple[tuple[str, ...], int, tuple[int, ...]], ...] = (
    (("0800",), 11, (4, 3, 4)),  # before 080 mobile
    (("020", "050", "060", "070", "080", "090"), 11, (3, 4, 4)),
    (("0120", "0570", "0990", "0180"), 10, (4, 3, 3)),
    (("03", "06"), 10, (2, 4, 4)),
    (("0880", "0883", "0884", "0885", "0887", "0889"), 10, (4, 2, 4)),
    (("088",), 10, (3, 3, 4)),
)
_FALLBACK = {10: (3, 3, 4), 11: (3, 4, 4)}


def phone_digits(text: str) -> str:
    """Reduce a typed phone number to its domestic digits.

    >>> phone_digits("０９０－１２３４－５６７８")
    '09012345678'
    >>> phone_digits("+81 90-1234-5678")
    '09012345678'

    NFKC (full-width digits and hyphens), a leading ``+81`` (optionally followed by
    ``(0)``) replaced by the trunk prefix ``0``, then every non-digit dropped. Raises
    ``ValueError`` unless the result is 10 or 11 digits starting with ``0`` (every
    Japanese subscriber number, landline or mobile, has that shape).
    """
    s = unicodedata.normalize("NFKC", text).strip()
    s = _COUNTRY_CODE.sub("0", s, count=1)
    digits = _NON_DIGITS.sub("", s)
    if not 10 <= len(digits) <= 11:
        raise ValueError(
            f"電話番号の桁数が正しくありません（{len(digits)}桁）: {text!r} / "
            "a Japanese phone number has 10 or 11 digits"
        )
    if not digits.startswith("0"):
        raise ValueError(
            f"電話番号は0から始めてください（国番号は+81）: {text!r} / "
            "a domestic Japanese phone number starts with 0 (or +81)"
        )
    return digits


def format_phone(digits: str) -> str:
    """Hyphenate a phone number for display (see the module table for the rules).

    >>> format_phone("09012345678")
    '090-1234-5678'
    >>> format_phone("0888231234")
    '088-823-1234'

    Input goes through :func:`phone_digits` first, so an already formatted or
    full-width number is accepted too; invalid input raises ``ValueError``.
    """
    d = phone_digits(digits)
    groups = _FALLBACK[len(d)]
    for prefixes, length, shape in _PHONE_RULES:
        if len(d) == length and d.startswith(prefixes):
            groups = shape
            break
    parts, pos = [], 0
    for size in groups:
        parts.append(d[pos : pos + size])
        pos += size
    return "-".join(parts)


_POSTAL_MARKS = "〒"  # NFKC already maps 〶 (U+3036) to 〒
_POSTAL = re.compile(r"([0-9]{3})[-\u2010\u2012-\u2015\u2212\u30fc]?([0-9]{4})")


def postal_code(text: str) -> str:
    """Normalise a Japanese postal code to ``NNN-NNNN``.

    >>> postal_code("〒783-0004")
    '783-0004'
    >>> postal_code("７８３００04")
    '783-0004'

    Accepts full-width digits, an optional leading 〒 (or 〶), surrounding/inner
    spaces, and a hyphen typed as any dash — including ``ー``, which is what a kana
    IME produces for the minus key. Raises ``ValueError`` otherwise.
    """
    s = unicodedata.normalize("NFKC", text)
    s = "".join(s.split())
    s = s.removeprefix(_POSTAL_MARKS)
    m = _POSTAL.fullmatch(s)
    if not m:
        raise ValueError(
            f"郵便番号の形式が正しくありません: {text!r} / "
            "postal code must be 7 digits, e.g. 783-0004"
        )
    return f"{m.group(1)}-{m.group(2)}"
