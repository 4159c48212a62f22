"""Every referral that waits says why, with a code and a Japanese sentence."""

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from caseapp.models import Consent
from tests.api.loop_helpers import intake, refer, referral_id
from tests.services.delivery.helpers import CONSENT, ELDER


def reason_of(api, rid: int) -> dict:
    body = api.get(f"/api/v1/referrals/{rid}").json
    assert body["status"] == "awaiting_consent"
    return body["waiting_reason"]


def test_no_consent(api):
    made = intake(api, ELDER)
    waiting = made["referrals"][0]["waiting_reason"]
    assert waiting["code"] == "no_consent" and "同意" in waiting["message"]


def test_a_consent_that_does_not_name_the_partner(api):
    made = intake(api, {**ELDER, "consent": {**CONSENT, "scope": "partners",
                                             "partners": ["hellowork"]}})
    waiting = reason_of(api, referral_id(made, "houkatsu"))
    assert waiting["code"] == "consent_not_partner" and "houkatsu" in waiting["message"]


def test_a_consent_withdrawn(api, session):
    made = intake(api, ELDER)
    api.post(f"/api/v1/clients/{made['client_id']}/consents", json=CONSENT)
    for row in session.scalars(select(Consent)):
        row.withdrawn_at = datetime.now(UTC) - timedelta(seconds=1)
    session.commit()
    rid = refer(api, made["case_id"], "hellowork")["id"]
    assert reason_of(api, rid)["code"] == "consent_not_in_force"


def test_a_stop_of_use(api, tokens):
    made = intake(api, ELDER)
    api.as_(tokens["supervisor"]).post(f"/api/v1/clients/{made['client_id']}/stop-use",
                                       json={"reason": "本人の請求"})
    waiting = reason_of(api, referral_id(made, "houkatsu"))
    assert waiting["code"] == "use_stopped" and "第35条" in waiting["message"]


def test_a_meeting_that_does_not_include_the_partner(api, tokens):
    made = intake(api, ELDER)
    api.as_(tokens["supervisor"]).post(
        f"/api/v1/cases/{made['case_id']}/support-meeting",
        json={"law": "seikatsu_konkyu_9", "meeting_date": "2026-11-20", "partners": ["minsei"]})
    assert reason_of(api, referral_id(made, "houkatsu"))["code"] == "meeting_not_covering"


def test_a_referral_that_does_not_wait_has_no_reason(api):
    made = intake(api, {**ELDER, "consent": CONSENT})
    (referral,) = made["referrals"]
    assert referral["status"] == "requested" and referral["waiting_reason"] is None
    listed = api.get("/api/v1/referrals").json["items"]
    assert all(r["waiting_reason"] is None for r in listed)
