"""A refusal's detail leads in Japanese: staff read it before any English that follows."""

import re

from caseapp.api import errors
from caseapp.models import Case
from tests.api.loop_helpers import intake, move, referral_id
from tests.helpers import EXAMPLE, assert_problem

JAPANESE = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")
ASCII_LETTER = re.compile(r"[A-Za-z]")


def japanese_first(detail: str) -> bool:
    japanese, letter = JAPANESE.search(detail), ASCII_LETTER.search(detail)
    return japanese is not None and (letter is None or japanese.start() < letter.start())


def test_not_found_conflict_and_invalid_details_speak_japanese_first(api, supervisor, tokens,
                                                                      session):
    made = intake(api)
    case_id, client_id = made["case_id"], made["client_id"]
    houkatsu = referral_id(made, "houkatsu")
    partner = api.as_(tokens["partner:houkatsu"])
    missing = 999999
    anonymous = {key: value for key, value in EXAMPLE.items() if key != "client"}

    not_found = {
        "case": api.get(f"/api/v1/cases/{missing}"),
        "client": api.get(f"/api/v1/clients/{missing}"),
        "consultation": api.get(f"/api/v1/consultations/{missing}"),
        "household": api.get(f"/api/v1/households/{missing}"),
        "event": api.get(f"/api/v1/events/{missing}"),
        "referral": api.get(f"/api/v1/referrals/{missing}"),
        "alert": api.post(f"/api/v1/alerts/{missing}/read"),
        "partner": api.get("/api/v1/partners/nowhere"),
        "partner's referral": partner.get(f"/api/v1/partner/referrals/{missing}"),
        "route": api.get("/api/v1/nowhere"),
    }
    invalid = {
        "owner": api.patch(f"/api/v1/cases/{case_id}", json={"owner_id": missing}),
        "case": api.post("/api/v1/referrals", json={
            "case_id": missing, "partner": "jiritsu", "reason": "x", "method": "info_only"}),
        "client": api.post("/api/v1/consultations", json={**anonymous, "client_id": missing}),
        "twice": api.post("/api/v1/households", json={"members": [
            {"client_id": client_id, "relationship": "head"},
            {"client_id": client_id, "relationship": "child"}]}),
        "consent": api.post("/api/v1/consultations", json=anonymous),
    }
    conflicts = {
        "workflow": move(partner, houkatsu, "completed", outcome="got_help"),
        "retry": supervisor.post(f"/api/v1/referrals/{houkatsu}/retry"),
        "handled": api.post(f"/api/v1/referrals/{houkatsu}/handled", json={"note": "別の窓口へ"}),
        "open referral": api.post("/api/v1/referrals", json={
            "case_id": case_id, "partner": "houkatsu", "reason": "x",
            "method": "intro_letter"}),
    }
    assert supervisor.post(f"/api/v1/clients/{client_id}/stop-use",
                           json={"reason": "本人の申し出"}).status_code == 200
    conflicts["stopped twice"] = supervisor.post(f"/api/v1/clients/{client_id}/stop-use",
                                                 json={"reason": "本人の申し出"})
    session.get(Case, case_id).status = "closed"
    session.commit()
    conflicts["closed case"] = api.post("/api/v1/referrals", json={
        "case_id": case_id, "partner": "jiritsu", "reason": "x", "method": "info_only"})

    details = {}
    for status, answers in ((404, not_found), (422, invalid), (409, conflicts)):
        for name, response in answers.items():
            details[f"{status} {name}"] = assert_problem(response, status)["detail"]
    english_first = {name: detail for name, detail in details.items()
                     if not japanese_first(detail)}
    assert english_first == {}
    # Said in words of its own, not the status's title wrapped round an English message.
    generic = {name: detail for name, detail in details.items() if name != "404 route"
               and detail.startswith(errors.title(int(name[:3])).split("（")[0] + "（")}
    assert generic == {}
    # The English wording stays in full after the Japanese, for clients matching on it.
    assert details["404 case"] == "ケース No. 999999 は見つかりません（case 999999 not found）"
    assert details["404 referral"].endswith("（referral 999999 not found）")
    assert details["409 closed case"] == (
        "ケースは終了しています。紹介する前にケースを再開してください"
        "（the case is closed; reopen it before referring）")
