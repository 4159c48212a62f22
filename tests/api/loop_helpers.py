"""Set-ups for the referral-loop tests: intake, find a partner's referral, walk the workflow."""

from tests.helpers import EXAMPLE

# EXAMPLE (74, debts, written consent) routes to houkatsu, houterasu and shihoshoshi.
EXAMPLE_PARTNERS = ("houkatsu", "houterasu", "shihoshoshi")
# What every partner tests against: the three partners with tokens in the `tokens` fixture.
PARTNERS = ("houkatsu", "jiritsu", "houterasu")


def intake(api, body=None) -> dict:
    response = api.post("/api/v1/consultations", json=body or EXAMPLE)
    assert response.status_code == 201, response.json
    return response.json


def referral_id(intake_json: dict, code: str) -> int:
    (found,) = [r["id"] for r in intake_json["referrals"] if r["partner"] == code]
    return found


def refer(api, case_id: int, code: str, **extra) -> dict:
    body = {"case_id": case_id, "partner": code, "reason": "手動でつなぐ", "method": "intro_letter",
            **extra}
    response = api.post("/api/v1/referrals", json=body)
    assert response.status_code == 201, response.json
    return response.json


def one_each(api) -> dict[str, int]:
    """A referral to each of PARTNERS, all on one consented case: {code: referral id}."""
    made = intake(api)
    ids = {code: referral_id(made, code) for code in ("houkatsu", "houterasu")}
    ids["jiritsu"] = refer(api, made["case_id"], "jiritsu")["id"]
    return ids


def move(partner_api, rid: int, status: str, **extra):
    return partner_api.post(f"/api/v1/partner/referrals/{rid}/status",
                            json={"status": status, **extra})


def walk(partner_api, rid: int, *statuses: str) -> dict:
    body = None
    for status in statuses:
        extra = {"reason": "対象外です"} if status == "rejected" else {}
        if status == "completed":
            extra = {"outcome": "got_help"}
        response = move(partner_api, rid, status, **extra)
        assert response.status_code == 200, response.json
        body = response.json
    return body


def record_meeting(supervisor, case_id: int, partners: list[str]) -> int:
    recorded = supervisor.post(f"/api/v1/cases/{case_id}/support-meeting",
                               json={"law": "seikatsu_konkyu_9", "meeting_date": "2026-11-20",
                                     "partners": partners})
    assert recorded.status_code == 201, recorded.json
    return recorded.json["id"]
