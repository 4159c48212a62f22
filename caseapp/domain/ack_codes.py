"""Short acknowledgement codes printed on a 紹介状, typed by a partner at ``/ack``.

Pure. Eight characters from an alphabet without the letters people misread on paper or
mistype (0/O, 1/I/L), shown in two groups of four; what is typed is read leniently (full-width
characters, lower case, spaces and hyphens).
"""

from __future__ import annotations

import secrets
import unicodedata

ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
LENGTH = 8


def generate() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))


def normalise(text: str) -> str | None:
    """The stored form of what was typed, or None when it cannot be a code at all."""
    folded = unicodedata.normalize("NFKC", text or "").upper()
    code = "".join(ch for ch in folded if not ch.isspace() and ch not in "-ー−‐")
    if len(code) != LENGTH or any(ch not in ALPHABET for ch in code):
        return None
    return code


def display(code: str) -> str:
    """``ABCD-EFGH``: easier to read aloud and to copy from paper."""
    return f"{code[:4]}-{code[4:]}"
