"""Japanese-language helpers: names/readings, 和暦 dates, phone numbers, postal codes.

All functions are pure (no Flask, no database, no clock).
"""

from caseapp.jp.names import bigrams, normalise_reading, search_key
from caseapp.jp.phone import format_phone, phone_digits, postal_code
from caseapp.jp.wareki import WarekiError, era_of, format_wareki, parse_date

__all__ = [
    "WarekiError",
    "bigrams",
    "era_of",
    "format_phone",
    "format_wareki",
    "normalise_reading",
    "parse_date",
    "phone_digits",
    "postal_code",
    "search_key",
]
