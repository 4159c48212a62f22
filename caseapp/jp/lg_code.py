"""全国地方公共団体コード (JIS X 0402): six digits, the last a mod-11 check digit."""

import re

_SIX = re.compile(r"\d{6}")
_WEIGHTS = (6, 5, 4, 3, 2)


def check_digit(first_five: str) -> int:
    """The check digit of a five-digit code: the last digit of 11 minus the weighted sum mod 11."""
    total = sum(int(d) * w for d, w in zip(first_five, _WEIGHTS, strict=True))
    return (11 - total % 11) % 10


def is_valid(code: str) -> bool:
    """``392049`` (南国市) is; a mistyped digit is caught by the check digit."""
    return bool(_SIX.fullmatch(code)) and check_digit(code[:5]) == int(code[5])
