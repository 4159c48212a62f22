"""移管: a case goes with the person to the municipality they moved to, with their consent; both
sides see the handover, the audit says who moved what."""

from sqlalchemy import select

from caseapp.models import AuditEntry
from caseapp.services.community import areas
from caseapp.services.core import auth
from caseapp.services.network import seed
from tests.helpers import EXAMPLE

CONSENT = {"method": "written", "given_at": "2026-11-27T10:00:00+09:00"}


def send(api, token, method, path, body=None):
    return api.client.open(path, method=method, json=body if method != "GET" else None,
                           headers={"Authorization": f"Bearer {token}"})


def test_a_case_moves_home_with_consent_and_both_sides_see_the_handover(api, tokens, seeded):
    seed.seed_network(seeded, "nakatosa")
    town = areas.municipality(seeded, "nakatosa").id
    _user, theirs = auth.create_user(seeded, "nakatosa-sup", "supervisor", municipality_id=town)
    ours = tokens["supervisor"]
    made = api.post("/api/v1/consultations", json=EXAMPLE).json
    case_id, client_id = made["case_id"], made["client_id"]
    path = f"/api/v1/cases/{case_id}/transfer"

    assert send(api, ours, "POST", path, {"to": "394017"}).status_code == 422  # no consent
    assert send(api, tokens["counter"], "POST", path,
                {"to": "394017", "consent": CONSENT}).status_code == 403  # supervisors only
    waiting = send(api, ours, "POST", path, {"to": "394017", "consent": CONSENT})
    assert waiting.status_code == 409, waiting.json
    for referral in waiting.json["referral_ids"]:
        cancelled = send(api, ours, "POST", f"/api/v1/referrals/{referral}/cancel",
                         {"reason": "転居のため移管"})
        assert cancelled.status_code == 200, cancelled.json
    assert send(api, theirs, "POST", path, {"to": "394017", "consent": CONSENT}) \
        .status_code == 404  # not theirs to move

    moved = send(api, ours, "POST", path, {"to": "394017", "consent": CONSENT,
                                           "note": "中土佐町へ転居"})
    assert moved.status_code == 201, moved.json
    assert moved.json["from"]["code"] == "392049" and moved.json["to"]["code"] == "394017"

    # The old side: the case and the person are gone, the handover stays.
    assert send(api, ours, "GET", f"/api/v1/cases/{case_id}").status_code == 404
    assert send(api, ours, "GET", f"/api/v1/clients/{client_id}").status_code == 404
    (seen,) = send(api, ours, "GET", "/api/v1/cases/transfers").json["items"]
    assert seen["case_id"] == case_id and "山田" not in str(seen)
    # The new side: the case with its history, and the same handover.
    case = send(api, theirs, "GET", f"/api/v1/cases/{case_id}").json
    assert [t["id"] for t in case["transfers"]] == [moved.json["id"]]
    assert send(api, theirs, "GET", f"/api/v1/clients/{client_id}").json["name"] == "山田 太郎"
    assert send(api, theirs, "GET", f"/api/v1/consultations/{made['id']}").status_code == 200
    assert [t["id"] for t in send(api, theirs, "GET", "/api/v1/cases/transfers").json["items"]] \
        == [moved.json["id"]]
    seeded.expire_all()
    entry = seeded.scalar(select(AuditEntry).where(AuditEntry.action == "transfer"))
    assert entry.resource_id == str(case_id) and entry.actor_label == "supervisor-1"
    assert entry.detail["to"] == town and entry.detail["consent_method"] == "written"
