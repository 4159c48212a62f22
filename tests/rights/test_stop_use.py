"""利用停止 (§35): a stopped person's data does not leave; partners holding it are told;
the record stays readable; lifting the stop releases what waited."""

import json

from sqlalchemy import select

from caseapp.models import AuditEntry, Delivery, Disclosure, Referral
from caseapp.services.delivery.stop_notices import EVENT
from caseapp.services.referrals.consent_gate import USE_STOPPED_NOTE
from tests.conftest import Api
from tests.helpers import assert_problem
from tests.services.delivery.helpers import CONSENT, ELDER, hook, referral_to, run_due


def intake(api, **extra) -> dict:
    response = api.post("/api/v1/consultations", json={**ELDER, "consent": CONSENT, **extra})
    assert response.status_code == 201, response.json
    return response.json


def stop(supervisor, client_id, reason="本人から電話で利用停止の申出"):
    return supervisor.post(f"/api/v1/clients/{client_id}/stop-use", json={"reason": reason})


def test_a_stopped_persons_pending_referral_does_not_leave_and_says_why(
        api, supervisor, session, config, recorder):
    hook(session, "houkatsu", "https://houkatsu.example/hook")
    created = intake(api)
    answer = stop(supervisor, created["client_id"])
    assert answer.status_code == 200, answer.json
    referral = referral_to(session, created["id"], "houkatsu")
    assert referral.id in answer.json["held_referrals"]
    run_due(session, config, recorder)
    assert recorder.webhook.sent == []
    session.expire_all()
    assert referral.status == "awaiting_consent"
    assert {d.state for d in referral.deliveries} == {"held"}
    assert all(d.last_error == USE_STOPPED_NOTE for d in referral.deliveries)
    detail = api.get(f"/api/v1/referrals/{referral.id}").json
    assert detail["deliveries"][0]["last_error"] == USE_STOPPED_NOTE
    assert session.scalar(select(Disclosure.id)) is None
    # The counter keeps reading the record for its own duty.
    assert api.get(f"/api/v1/clients/{created['client_id']}").status_code == 200


def test_a_send_already_queued_is_held_at_send_time(api, supervisor, session, config, recorder,
                                                    monkeypatch):
    """Stopped between the queueing and the send: the gate at send time holds it."""
    from caseapp.services.rights import stop_use

    hook(session, "houkatsu", "https://houkatsu.example/hook")
    created = intake(api)
    # The stop's own hold is skipped, as if the worker had claimed the rows first.
    monkeypatch.setattr(stop_use.consent_gate, "hold", lambda *a, **k: None)
    assert stop(supervisor, created["client_id"]).status_code == 200
    monkeypatch.undo()
    run_due(session, config, recorder)
    assert recorder.webhook.sent == []
    referral = referral_to(session, created["id"], "houkatsu")
    session.refresh(referral)
    assert referral.status == "awaiting_consent"
    assert any(d.last_error == USE_STOPPED_NOTE for d in referral.deliveries)


def test_no_new_referral_leaves_for_a_stopped_person_whatever_the_basis(
        api, supervisor, session, config, recorder):
    first = intake(api)
    assert stop(supervisor, first["client_id"]).status_code == 200
    again = api.post("/api/v1/consultations", json={
        "client_id": first["client_id"], "channel": "phone", "topics": ["debt"],
        "summary": "借金の相談", "consent": CONSENT})
    assert again.status_code == 201, again.json
    assert {r["status"] for r in again.json["referrals"]} == {"awaiting_consent"}
    manual = api.post("/api/v1/referrals", json={
        "case_id": first["case_id"], "partner": "houterasu", "reason": "法律相談",
        "method": "info_only", "exception": "life_safety",
        "exception_reason": "本人と連絡が取れず、生命の危険がある"})
    # Not even life or body at risk outranks a stop: the referral is refused outright.
    assert manual.status_code == 409, manual.json
    assert "利用停止" in manual.json["detail"]
    run_due(session, config, recorder)
    assert recorder.webhook.sent == [] and session.scalar(select(Disclosure.id)) is None


def test_partners_holding_an_open_referral_are_told_without_personal_data(
        api, supervisor, session, config, recorder, tokens):
    hook(session, "houkatsu", "https://houkatsu.example/hook")
    created = intake(api)
    run_due(session, config, recorder)
    referral = referral_to(session, created["id"], "houkatsu")
    assert referral.status == "sent" and len(recorder.webhook.sent) == 1
    disclosures = session.query(Disclosure).count()

    answer = stop(supervisor, created["client_id"])
    assert referral.id in answer.json["notified_referrals"]
    run_due(session, config, recorder)
    notice = recorder.webhook.sent[-1]
    body = json.loads(notice.body)
    assert body["type"] == EVENT and body["data"]["referral_id"] == referral.id
    assert "利用停止" in body["data"]["notice"]
    for personal in ("高知", "花子", "コウチ", "0881234567", "1940", "介護"):
        assert personal not in notice.body.decode()
    row = session.scalar(select(Delivery).where(Delivery.referral_id == referral.id,
                                                Delivery.event_type == EVENT))
    assert row.state == "delivered" and notice.headers["webhook-id"] == row.message_id
    # A notice discloses nothing, so it adds no provision record.
    assert session.query(Disclosure).count() == disclosures
    # The partner's inbox now shows that use stopped, and nothing of the person.
    partner = Api(api.client, tokens["partner:houkatsu"])
    view = partner.get(f"/api/v1/partner/referrals/{referral.id}").json
    assert view["basis"] == "use_stopped"
    assert view["client"] is None and view["contact"] is None and view["summary"] is None
    assert "高知" not in json.dumps(view, ensure_ascii=False)


def test_lifting_the_stop_releases_what_waited_and_both_are_audited(
        api, supervisor, session, config, recorder):
    hook(session, "houkatsu", "https://houkatsu.example/hook")
    created = intake(api)
    stopped = stop(supervisor, created["client_id"]).json
    resumed = supervisor.post(f"/api/v1/clients/{created['client_id']}/resume-use",
                              json={"reason": "本人が利用停止の申出を取り下げた"})
    assert resumed.status_code == 200, resumed.json
    referral = referral_to(session, created["id"], "houkatsu")
    assert referral.id in resumed.json["released_referrals"]
    assert resumed.json["lifted_at"] and resumed.json["id"] == stopped["id"]
    run_due(session, config, recorder)
    session.refresh(referral)
    assert referral.status == "sent" and len(recorder.webhook.sent) == 1
    actions = list(session.scalars(select(AuditEntry.action).where(
        AuditEntry.resource_type == "client",
        AuditEntry.resource_id == str(created["client_id"])).order_by(AuditEntry.id)))
    assert actions[-2:] == ["stop_use", "resume_use"]
    # The reason may name people: it is not copied into the audit log.
    entries = session.scalars(select(AuditEntry).where(AuditEntry.action.in_(
        ("stop_use", "resume_use")))).all()
    assert all("申出" not in json.dumps(e.detail, ensure_ascii=False) for e in entries)


def test_stop_use_input_and_state_are_checked(api, supervisor, session):
    created = intake(api)
    assert_problem(supervisor.post(f"/api/v1/clients/{created['client_id']}/stop-use",
                                   json={}), 422)
    assert_problem(supervisor.post(f"/api/v1/clients/{created['client_id']}/stop-use",
                                   json={"reason": "   "}), 422)
    assert_problem(supervisor.post(f"/api/v1/clients/{created['client_id']}/resume-use",
                                   json={"reason": "x"}), 409)
    assert stop(supervisor, created["client_id"]).status_code == 200
    assert_problem(stop(supervisor, created["client_id"]), 409)
    assert_problem(stop(supervisor, 999999), 404)
    # The counter may not stop use; only a supervisor decides.
    assert_problem(api.post(f"/api/v1/clients/{created['client_id']}/resume-use",
                            json={"reason": "x"}), 403)


def test_a_stop_follows_a_merged_record_to_its_survivor(api, supervisor, session, config,
                                                        recorder):
    hook(session, "houkatsu", "https://houkatsu.example/hook")
    other = api.post("/api/v1/clients", json={"name": "高知 花子", "phone": "088-123-4567"}).json
    assert stop(supervisor, other["id"]).status_code == 200
    created = intake(api)
    merged = api.post(f"/api/v1/clients/{created['client_id']}/merge",
                      json={"duplicate_id": other["id"]})
    assert merged.status_code == 200, merged.json
    session.expire_all()
    assert {r.status for r in session.scalars(select(Referral))} <= {"requested",
                                                                     "awaiting_consent"}
    run_due(session, config, recorder)
    assert recorder.webhook.sent == []


def test_after_lifting_a_referral_still_without_consent_says_it_waits_for_consent(
        api, supervisor, session):
    from caseapp.services.referrals.consent_gate import NO_BASIS_NOTE

    hook(session, "houkatsu", "https://houkatsu.example/hook")
    created = intake(api)
    client_id = created["client_id"]
    consent_id = api.get(f"/api/v1/clients/{client_id}").json["consents"][0]["id"]
    assert stop(supervisor, client_id).status_code == 200
    assert api.post(f"/api/v1/consents/{consent_id}/withdraw").status_code == 200
    resumed = supervisor.post(f"/api/v1/clients/{client_id}/resume-use", json={"reason": "取下げ"})
    assert resumed.status_code == 200 and resumed.json["released_referrals"] == []
    referral = referral_to(session, created["id"], "houkatsu")
    session.refresh(referral)
    assert referral.status == "awaiting_consent"
    assert {d.last_error for d in referral.deliveries} == {NO_BASIS_NOTE}
