"""The referral workflow as data: which status may follow which, and who may make the move.

Pure: no database, no Flask. The service (caseapp.services.referrals.loop) asks ``check`` and
turns a "no" into a Conflict carrying the allowed next steps; the table is also what the
partner view shows as ``next_statuses`` and what docs/partner-view.md describes.

Statuses follow the FHIR Task workflow (DESIGN.md): awaiting_consent → requested → sent →
received → accepted | rejected → in_progress → completed; a partner may also reject a
requested or sent referral without acknowledging it first; cancelled by staff at any open
point; failed when delivery is exhausted.
"""

from __future__ import annotations

from dataclasses import dataclass

from caseapp.permissions import STAFF_ROLES

PARTNER = "partner"
STAFF = "staff"
SYSTEM = "system"

OUTCOMES = ("got_help", "not_eligible", "couldnt_contact", "no_capacity", "declined_by_client",
            "referred_elsewhere")

_P, _S, _Y = frozenset({PARTNER}), frozenset({STAFF}), frozenset({SYSTEM})

# status -> {next status -> parties that may make the move}
TRANSITIONS: dict[str, dict[str, frozenset[str]]] = {
    # consent recorded (issue 4) releases it; staff may give up on it
    "awaiting_consent": {"requested": _Y | _S, "cancelled": _S},
    # the inbox shows a requested referral at once, so a partner may acknowledge it before the
    # worker has marked it sent; and, as FHIR Task allows requested → rejected, decline it
    # straight away rather than acknowledge first
    "requested": {"sent": _Y, "received": _P, "rejected": _P, "failed": _Y,
                  "awaiting_consent": _Y | _S, "cancelled": _S},
    "sent": {"received": _P, "rejected": _P, "cancelled": _S},
    "received": {"accepted": _P, "rejected": _P, "cancelled": _S},
    "accepted": {"in_progress": _P, "completed": _P, "cancelled": _S},
    "in_progress": {"completed": _P, "cancelled": _S},
    "failed": {"requested": _S, "cancelled": _S},  # retry, or give up and re-route
    "rejected": {},
    "completed": {},
    "cancelled": {},
}

TERMINAL = frozenset(s for s, nxt in TRANSITIONS.items() if not nxt)

# What a move must carry, by target status.
REQUIRED = {"rejected": "reason", "cancelled": "reason", "completed": "outcome"}

# The partner still owes an answer: a receipt while requested/sent, a decision while received.
ACK_PENDING = ("requested", "sent", "received")


def party(role: str) -> str:
    if role == PARTNER:
        return PARTNER
    if role in STAFF_ROLES:
        return STAFF
    return SYSTEM


def allowed_next(status: str, role: str) -> list[str]:
    who = party(role)
    return [nxt for nxt, parties in TRANSITIONS.get(status, {}).items() if who in parties]


@dataclass(frozen=True)
class Decision:
    ok: bool
    reason: str
    allowed: tuple[str, ...]


def check(current: str, new: str, role: str) -> Decision:
    allowed = tuple(allowed_next(current, role))
    if new in allowed:
        return Decision(True, f"{current} → {new}", allowed)
    if current in TERMINAL:
        why = f"つなぎは {current} で終了しています（{current} is final）"
    elif new in TRANSITIONS.get(current, {}):
        why = (f"つなぎを {current} から {new} に進めることは {party(role)} にはできません"
               f"（{party(role)} may not move {current} → {new}）")
    else:
        why = f"つなぎを {current} から {new} には進められません（no step {current} → {new}）"
    if allowed:
        why += f"。可能な次の状態: {', '.join(allowed)}"
    return Decision(False, why, allowed)
