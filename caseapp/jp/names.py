"""Name and reading (フリガナ) normalisation for client search.

Pure functions, no I/O. Kana conversion is delegated to :mod:`jaconv`; width folding to
Unicode NFKC (which already turns half-width katakana, including voiced/semi-voiced
sequences such as ``ｶﾞ``/``ﾊﾟ`` and ``ｰ``, into full-width ``ガ``/``パ``/``ー``).

``search_key`` pipeline (order matters for idempotency)::

    spacing ゛゜ → combining marks → NFKC → hiragana→katakana (jaconv) → lowercase
    → drop variation selectors → drop whitespace and name separators → NFC
    → fold variant kanji → unify dash-like characters after kana to ``ー``

Long-vowel rule (kept deliberately simple): any run of dash-like characters
(``- ‐ ‑ ‒ – — ― − ~ 〜 ﹣`` …, see ``DASHES``) that directly *follows* a katakana
character (or ``ー``) becomes ``ー`` — one ``ー`` per dash. This covers "between kana"
(``ロ－ソン`` → ``ローソン``) and also a trailing long vowel (``メアリ－`` → ``メアリー``).
Dashes anywhere else (after digits, Latin letters, kanji, or at the start) are kept.
"""

from __future__ import annotations

import re
import unicodedata

import jaconv

from caseapp.jp.variants import VARIANT_TRANSLATION

__all__ = ["bigrams", "normalise_reading", "search_key"]

#: Characters staff type (or IMEs/Excel produce) where a long-vowel mark ー is meant.
#: Listed *after* NFKC: full-width －/～ and half-width ｰ are already folded by then.
DASHES = (
    "-"  # U+002D hyphen-minus (also NFKC of U+FF0D － and U+FE63 ﹣)
    "\u2010"  # ‐ hyphen (also NFKC of U+2011 non-breaking hyphen)
    "\u2012"  # ‒ figure dash
    "\u2013"  # – en dash
    "\u2014"  # — em dash
    "\u2015"  # ― horizontal bar
    "\u2212"  # − minus sign
    "~"  # U+007E tilde (also NFKC of U+FF5E ～)
    "\u301c"  # 〜 wave dash
    "\u30fc"  # ー itself (so runs like ーｰ- are handled uniformly)
)

_KATAKANA = "\u30a1-\u30fa\u30fc-\u30fe"  # ァ..ヺ, ー, ヽ, ヾ
_DASH_AFTER_KANA = re.compile(f"(?<=[{_KATAKANA}])[{re.escape(DASHES)}]+")

#: Word separators ignored by search: any Unicode whitespace (incl. U+3000 ideographic
#: space, which NFKC turns into U+0020 anyway) plus the separators used in foreign
#: names written in katakana: ・ (nakaguro; NFKC of half-width ･), · (middle dot),
#: ゠ and = (used in e.g. ジャン＝ポール).
_SEPARATORS = re.compile(r"[\s\u30fb\u00b7\u30a0=]+")

#: Ideographic variation selectors (IVS, U+E0100–U+E01EF) and standard variation
#: selectors (U+FE00–U+FE0F) pick a glyph shape (e.g. 葛󠄀 vs 葛) but not a different
#: character, so they are dropped from search keys.
_VARIATION_SELECTORS = re.compile("[\ufe00-\ufe0f\U000e0100-\U000e01ef]")


# Spacing voiced/semi-voiced marks typed after a kana (カ゛) are turned into the
# combining marks so NFKC composes them (ガ); NFKC alone would give "カ ゙".
_SPACING_MARKS = {0x309B: "\u3099", 0x309C: "\u309a"}


def _unify_long_vowels(text: str) -> str:
    return _DASH_AFTER_KANA.sub(lambda m: "\u30fc" * len(m.group()), text)


def search_key(text: str) -> str:
    """Return the normalised key used to find a client by name or reading.

    >>> search_key("ﾔﾏﾀﾞ ﾀﾛｳ") == search_key("やまだ　たろう") == "ヤマダタロウ"
    True
    >>> search_key("髙橋") == search_key("高橋")
    True

    Idempotent: ``search_key(search_key(x)) == search_key(x)``. Small kana (ァ, ッ, ャ,
    ヶ …) are kept as typed; ヴ is not folded to ブ. Latin letters are lowercased.
    """
    key = unicodedata.normalize("NFKC", text.translate(_SPACING_MARKS))
    key = jaconv.hira2kata(key)
    key = key.lower()
    key = _VARIATION_SELECTORS.sub("", key)
    key = _SEPARATORS.sub("", key)
    # Removing separators can bring a stray combining mark (e.g. "カ ゛") next to its
    # base; recompose *before* the kana-context rule so a second pass is a no-op.
    key = unicodedata.normalize("NFC", key)
    key = key.translate(VARIANT_TRANSLATION)
    return _unify_long_vowels(key)


_READING_ALLOWED = re.compile("[\u30a1-\u30fa\u30fc\u30fb ]*")


def normalise_reading(text: str) -> str:
    """Normalise a フリガナ for storage: full-width katakana, single ASCII spaces.

    >>> normalise_reading("やまだ　たろう")
    'ヤマダ タロウ'
    >>> normalise_reading("ﾔﾏﾀﾞ ﾀﾛｳ")
    'ヤマダ タロウ'

    Half-width katakana and hiragana are converted; whitespace (including the
    ideographic space U+3000) is collapsed to one ASCII space and stripped; a dash
    typed after kana becomes ``ー`` (same rule as :func:`search_key`). Unlike
    :func:`search_key`, no variant folding and no case folding happen.

    Raises ``ValueError`` (Japanese + English message) if the result is empty or
    contains anything other than katakana, ``ー``, ``・`` and spaces.
    """
    reading = unicodedata.normalize("NFKC", text.translate(_SPACING_MARKS))
    reading = jaconv.hira2kata(reading)
    reading = reading.replace("\u00b7", "\u30fb")  # · → ・
    reading = unicodedata.normalize("NFC", " ".join(reading.split()))
    reading = _unify_long_vowels(reading)
    if not reading:
        raise ValueError("フリガナが入力されていません / reading is empty")
    if not _READING_ALLOWED.fullmatch(reading):
        bad = "".join(dict.fromkeys(c for c in reading if not _READING_ALLOWED.fullmatch(c)))
        raise ValueError(
            f"フリガナはカタカナで入力してください（使用できない文字: {bad}） / "
            f"reading may contain only katakana, 'ー', '・' and spaces; got {text!r}"
        )
    return reading


def bigrams(key: str) -> list[str]:
    """Distinct overlapping 2-character substrings of ``key``, in first-seen order.

    A 1-character key yields ``[key]``; an empty key yields ``[]``. ``key`` is used as
    given — pass the output of :func:`search_key` (the index and the query must be
    built from the same normalisation).

    >>> bigrams("ヤマダヤマ")
    ['ヤマ', 'マダ', 'ダヤ']
    """
    if len(key) <= 1:
        return [key] if key else []
    return list(dict.fromkeys(key[i : i + 2] for i in range(len(key) - 1)))
