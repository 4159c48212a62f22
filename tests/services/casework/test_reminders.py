"""Reminders on the counter's calendar, with a controlled clock (time-machine).

Every test runs on SQLite and PostgreSQL. The clock is travelled, never mocked per call: the
services read ``utcnow()`` as they would in production.
"""

import email.policy
from datetime import timedelta
from email.parser import BytesParser

import pytest
from flask import current_app
from sqlalchemy import func, select, update

from caseapp.models import (
    Case,
    Delivery,
    Partner,
    Referral,
    Reminder,
    StaffNotice,
    User,
)
from caseapp.models.types import utcnow
from caseapp.services.casework import cases, reminders
from caseapp.services.core import auth
from caseapp.services.core.actors import SYSTEM, Actor
from caseapp.services.delivery import gateways, notices
from caseapp.services.delivery.notifier import NotifyError
from caseapp.services.delivery.notifier import current as notifier_for_app
from caseapp.services.referrals import lifecycle, sending
from tests.services.casework.helpers import due_cases, in_two_threads, tokyo

pytestmark = pytest.mark.calendar  # every test runs on the `clock` fixture


def partner_actor(session, code):
    partner = session.scalar(select(Partner).where(Partner.code == code))
    return Actor(user_id=None, name=f"partner:{code}", role="partner", partner_id=partner.id)


def make_referral(session, owner, *, code="houkatsu", sla=1, next_action_at=None):
    partner = session.scalar(select(Partner).where(Partner.code == code))
    partner.ack_sla_days = sla
    case = Case(owner_id=owner.id, status="open",
                next_action_at=next_action_at or utcnow() + timedelta(days=60))
    session.add(case)
    actor = Actor(user_id=owner.id, name=owner.name, role="counter")
    referral = lifecycle.create(session, actor, case=case, partner=partner,
                                reason="高齢の方の生活相談", method="intro_letter",
                                urgency="normal", basis="consent")
    session.commit()
    return referral


def due_delivery_ids(session, now):
    return list(session.scalars(select(Delivery.id).where(
        Delivery.state == "pending", Delivery.next_attempt_at <= now).order_by(Delivery.id)))


def deliver_due(session, app):
    """What the worker does with each due outbox row, run in the test's own clock."""
    config = app.config["CASEAPP"]
    recording = gateways.Gateways(gateways.RecordingWebhookGateway(),
                                  gateways.RecordingMailGateway())
    for delivery_id in due_delivery_ids(session, utcnow()):
        sending.process(session, delivery_id, config, recording)


def sent_referral(session, app, owner, **kwargs):
    referral = make_referral(session, owner, **kwargs)
    deliver_due(session, app)
    assert session.get(Referral, referral.id).status == "sent"
    return referral


def notify(session, notice_id):
    """What the worker's notify_staff task does, with this app's notifier."""
    session.commit()
    return notices.send(session, notice_id, notifier_for_app(),
                        retry_delays=current_app.config["CASEAPP"].retry_delays)


def rows(session, **where):
    session.expire_all()
    query = select(Reminder).order_by(Reminder.id)
    for key, value in where.items():
        query = query.where(getattr(Reminder, key) == value)
    return list(session.scalars(query))


def reminder_deliveries(session, reminder_id):
    return list(session.scalars(select(Delivery).where(Delivery.reminder_id == reminder_id)))


# --------------------------------------------------------------------------- the calendar


@pytest.mark.parametrize(("sent_at", "sla", "due"), [
    # Friday + 1 business day is Monday: the weekend does not count.
    (tokyo(2026, 11, 13), 1, tokyo(2026, 11, 16)),
    # Friday + 1 is Tuesday when Monday is 勤労感謝の日.
    (tokyo(2026, 11, 20), 1, tokyo(2026, 11, 24)),
    # 28 December + 1 is 4 January: the 年末年始 closure runs 29 Dec – 3 Jan.
    (tokyo(2026, 12, 28), 1, tokyo(2027, 1, 4)),
    # Sent after closing on Friday: Monday 18:00 is after hours, so Tuesday at opening.
    (tokyo(2026, 11, 13, 18), 1, tokyo(2026, 11, 17, 9)),
    # Three business days over a weekend and a holiday: Thu → Fri, Tue (Mon holiday), Wed.
    (tokyo(2026, 11, 19), 3, tokyo(2026, 11, 25)),
], ids=["weekend", "public-holiday", "nenmatsu-nenshi", "after-hours", "sla-3"])
def test_partner_ack_is_due_after_the_sla_in_business_days(session, app, people, policy, clock,
                                                            sent_at, sla, due):
    clock.move_to(sent_at)
    referral = sent_referral(session, app, people["owner"], sla=sla)
    [ack] = rows(session, kind="partner_ack")
    assert ack.referral_id == referral.id and ack.status == "due" and ack.seq == 1
    assert ack.due_at == due

    # Every day until then, including the closed ones, the sweep sends nothing.
    day = sent_at
    while day + timedelta(days=1) < due:
        day += timedelta(days=1)
        clock.move_to(day)
        assert reminders.sweep(session) == {}
    clock.move_to(due - timedelta(minutes=1))
    assert reminders.sweep(session) == {}

    clock.move_to(due)
    assert reminders.sweep(session) == {"sent": 1}
    [ack] = rows(session, kind="partner_ack", seq=1)
    assert ack.status == "sent" and ack.sent_at == due
    deliveries = reminder_deliveries(session, ack.id)
    assert [(d.channel, d.event_type, d.referral_id) for d in deliveries] == [
        ("inbox", "referral.reminder", referral.id)]
    # A second beat, or a rerun, sends nothing more.
    assert reminders.sweep(session) == {}
    assert len(reminder_deliveries(session, ack.id)) == 1


def test_partner_reminders_go_through_the_outbox_to_every_channel(session, app, people, policy,
                                                                  clock, monkeypatch):
    # E-mail is a channel only where SMTP is configured.
    monkeypatch.setitem(app.config, "CASEAPP", app.config["CASEAPP"].with_(smtp_host="127.0.0.1"))
    partner = session.scalar(select(Partner).where(Partner.code == "houkatsu"))
    partner.email, partner.webhook_url = "houkatsu@example.jp", "https://houkatsu.example.jp/h"
    partner.webhook_secret = "whsec_" + "QUJD" * 8
    session.commit()
    clock.move_to(tokyo(2026, 11, 16))
    referral = make_referral(session, people["owner"])
    lifecycle.move(referral, "sent", SYSTEM)  # as if delivered
    session.commit()
    clock.move_to(tokyo(2026, 11, 17))
    assert reminders.sweep(session) == {"sent": 1}
    [ack] = rows(session, kind="partner_ack", seq=1)
    deliveries = reminder_deliveries(session, ack.id)
    # The inbox shows the referral anyway; it is a channel only for inbox-only partners.
    assert sorted(d.channel for d in deliveries) == ["email", "webhook"]
    assert {d.event_type for d in deliveries} == {"referral.reminder"}
    assert len({d.message_id for d in deliveries}) == 2
    # The reminder rows are due at once, so the same sweep's delivery part picks them up.
    assert {d.id for d in deliveries} <= set(due_delivery_ids(session, utcnow()))


# --------------------------------------------------------------------------- withdrawal


def test_acknowledgement_withdraws_the_pending_reminder(session, app, people, policy, clock):
    clock.move_to(tokyo(2026, 11, 16))
    referral = sent_referral(session, app, people["owner"], sla=2)
    clock.move_to(tokyo(2026, 11, 17, 15))
    lifecycle.move(session.get(Referral, referral.id), "received",
                   partner_actor(session, "houkatsu"), note="受け付けました")
    session.commit()
    [ack] = rows(session, kind="partner_ack")
    assert ack.status == "withdrawn" and ack.withdrawn_reason == "referral is received"
    # The partner now owes a decision: that is chased instead.
    [progress] = rows(session, kind="partner_progress")
    assert (progress.stage, progress.status) == ("received", "due")
    clock.move_to(tokyo(2026, 11, 18, 12))  # the old due time has passed
    assert reminders.sweep(session) == {}
    assert reminder_deliveries(session, ack.id) == []


def test_each_step_of_the_partner_workflow_replaces_what_it_answers(session, app, people,
                                                                    policy, clock):
    clock.move_to(tokyo(2026, 11, 16))
    referral = sent_referral(session, app, people["owner"])
    partner = partner_actor(session, "houkatsu")
    for status in ("received", "accepted", "in_progress", "completed"):
        lifecycle.move(session.get(Referral, referral.id), status, partner)
        session.commit()
    by_key = {(r.kind, r.stage): r.status for r in rows(session)}
    assert by_key == {
        ("partner_ack", "sent"): "withdrawn",
        ("partner_progress", "received"): "withdrawn",
        ("partner_progress", "accepted"): "withdrawn",  # an outcome came
        ("client_followup", "accepted"): "withdrawn",   # superseded by the one after completion
        ("client_followup", "completed"): "due",
    }
    [followup] = rows(session, kind="client_followup", status="due")
    assert followup.due_at == tokyo(2026, 11, 24)  # 5 business days, over 勤労感謝の日


def test_closing_the_case_withdraws_everything(session, app, people, policy, clock):
    clock.move_to(tokyo(2026, 11, 16))
    referral = sent_referral(session, app, people["owner"])
    actor = Actor(user_id=people["owner"].id, name="owner", role="counter")
    cases.update(session, actor, referral.case_id, {"status": "closed"})
    assert {r.status for r in rows(session)} == {"withdrawn"}
    clock.move_to(tokyo(2026, 12, 1))
    assert reminders.sweep(session) == {}


def test_a_reminder_made_moot_behind_the_hooks_back_is_not_sent(session, app, people, policy,
                                                                clock):
    clock.move_to(tokyo(2026, 11, 16))
    referral = sent_referral(session, app, people["owner"])
    # A path that changes the status without lifecycle.move: the sweep still checks.
    session.execute(update(Referral).where(Referral.id == referral.id)
                    .values(status="received"))
    session.commit()
    clock.move_to(tokyo(2026, 11, 17))
    assert reminders.sweep(session) == {"withdrawn": 1}
    [ack] = rows(session, kind="partner_ack")
    assert (ack.status, ack.withdrawn_reason, ack.sent_at) == ("withdrawn", "moot when due", None)
    assert reminder_deliveries(session, ack.id) == []


# --------------------------------------------------------------------------- escalation


def test_unanswered_reminders_escalate_to_supervisors_once(session, app, people, policy, clock,
                                                           notifier):
    clock.move_to(tokyo(2026, 11, 16))
    referral = sent_referral(session, app, people["owner"])
    timeline = {
        tokyo(2026, 11, 17): ("partner_ack", 1),   # SLA of 1 business day passed
        tokyo(2026, 11, 18): ("partner_ack", 2),   # reminded again a business day later
        tokyo(2026, 11, 19): ("escalation", 3),    # two unanswered reminders: escalate
    }
    for when, (kind, seq) in timeline.items():
        clock.move_to(when)
        assert reminders.sweep(session) == {"sent": 1}, when
        [latest] = rows(session, status="sent", seq=seq)
        assert latest.kind == kind
    [escalation] = rows(session, kind="escalation")
    assert escalation.escalates == "partner_ack" and escalation.referral_id == referral.id
    # The partner got the two reminders, the supervisors the escalation; then it stops.
    assert session.scalar(select(func.count()).select_from(Delivery)
                          .where(Delivery.event_type == "referral.reminder")) == 2
    for day in (20, 24, 25, 30):
        clock.move_to(tokyo(2026, 11, day))
        assert reminders.sweep(session) == {}
    assert len(rows(session)) == 3

    [notice] = session.scalars(select(StaffNotice))
    assert notice.reminder_id == escalation.id and notice.recipients == [people["boss"].email]
    assert notify(session, notice.id) == "sent"
    [message] = notifier.sent
    assert message.to == ("boss@counter.example.jp",)
    assert "エスカレーション" in message.subject and "2回" in message.subject
    assert f"/api/v1/cases/{referral.case_id}" in message.body
    assert "山田" not in message.body + message.subject  # a notice and a link, no client data
    assert notify(session, notice.id) == "skipped"  # a duplicate task message sends nothing
    assert len(notifier.sent) == 1


def test_an_answer_between_reminders_stops_the_escalation(session, app, people, policy, clock):
    clock.move_to(tokyo(2026, 11, 16))
    referral = sent_referral(session, app, people["owner"])
    clock.move_to(tokyo(2026, 11, 17))
    assert reminders.sweep(session) == {"sent": 1}
    lifecycle.move(session.get(Referral, referral.id), "received",
                   partner_actor(session, "houkatsu"))
    session.commit()
    for day in (18, 19, 20, 24):
        clock.move_to(tokyo(2026, 11, day))
        assert reminders.sweep(session) == {}
    assert [(r.kind, r.seq, r.status) for r in rows(session, kind="partner_ack")] == [
        ("partner_ack", 1, "sent"), ("partner_ack", 2, "withdrawn")]
    assert rows(session, kind="escalation") == []


# --------------------------------------------------------------------------- staff reminders


def test_an_overdue_next_action_reminds_the_owner_then_escalates(session, app, people, policy,
                                                                 clock, notifier):
    clock.move_to(tokyo(2026, 11, 16))
    owner = people["owner"]
    actor = Actor(user_id=owner.id, name=owner.name, role="counter")
    case = Case(owner_id=owner.id, status="open")
    session.add(case)
    session.commit()
    cases.update(session, actor, case.id, {"next_action_at": tokyo(2026, 11, 17, 14)})
    [first] = rows(session, kind="case_next_action")
    assert first.due_at == tokyo(2026, 11, 17, 14) and first.anchor_at == first.due_at

    clock.move_to(tokyo(2026, 11, 17, 14))
    assert reminders.sweep(session) == {"sent": 1}
    [notice] = session.scalars(select(StaffNotice))
    assert notice.recipients == [owner.email] and notice.state == "pending"
    assert notices.due_ids(session, utcnow()) == [notice.id]
    assert notify(session, notice.id) == "sent"
    assert "次の対応" in notifier.sent[0].subject

    # Rescheduling answers it: the repeat is withdrawn and the new date is watched instead.
    cases.update(session, actor, case.id, {"next_action_at": tokyo(2026, 11, 26, 10)})
    by_anchor = {(r.anchor_at, r.seq): r.status for r in rows(session)}
    assert by_anchor == {(tokyo(2026, 11, 17, 14), 1): "sent",
                         (tokyo(2026, 11, 17, 14), 2): "withdrawn",
                         (tokyo(2026, 11, 26, 10), 1): "due"}
    for day in (26, 27, 30):
        clock.move_to(tokyo(2026, 11, day, 10))
        assert reminders.sweep(session) == {"sent": 1}
    [escalation] = rows(session, kind="escalation")
    assert escalation.escalates == "case_next_action"
    assert escalation.notice.recipients == [people["boss"].email]


def test_a_case_nobody_can_be_reached_for_goes_to_the_supervisors(session, app, people, policy,
                                                                   clock, monkeypatch):
    monkeypatch.setitem(app.config, "CASEAPP",
                        policy.with_(supervisor_email="center@counter.example.jp"))
    clock.move_to(tokyo(2026, 11, 16))
    people["owner"].email = None
    due_cases(session, people["owner"], tokyo(2026, 11, 16, 11))
    clock.move_to(tokyo(2026, 11, 16, 11))
    assert reminders.sweep(session) == {"sent": 1}
    assert session.scalar(select(StaffNotice)).recipients == [people["boss"].email]
    # With no supervisor e-mail on file, the configured address is used.
    people["boss"].email = None
    session.commit()
    clock.move_to(tokyo(2026, 11, 17, 11))
    assert reminders.sweep(session) == {"sent": 1}
    latest = session.scalars(select(StaffNotice).order_by(StaffNotice.id.desc())).first()
    assert latest.recipients == ["center@counter.example.jp"]


def test_client_followup_after_acceptance_is_sent_once_to_the_owner(session, app, people,
                                                                    policy, clock):
    clock.move_to(tokyo(2026, 11, 13))
    referral = sent_referral(session, app, people["owner"])
    lifecycle.move(session.get(Referral, referral.id), "accepted",
                   partner_actor(session, "houkatsu"))
    session.commit()
    [followup] = rows(session, kind="client_followup")
    assert followup.due_at == tokyo(2026, 11, 20)  # Mon–Fri: 5 business days
    clock.move_to(tokyo(2026, 11, 20))
    assert reminders.sweep(session) == {"sent": 1}
    assert followup.id in {n.reminder_id for n in session.scalars(select(StaffNotice))}
    assert rows(session, kind="client_followup", seq=2) == []
    clock.move_to(tokyo(2026, 12, 25))
    assert [r.kind for r in rows(session, status="sent")] == ["client_followup"]
    # The partner is still chased for an outcome, separately.
    assert rows(session, kind="partner_progress", stage="accepted")[0].status == "due"


# --------------------------------------------------------------------------- exactly once


def test_scheduling_twice_makes_one_reminder(session, app, people, policy, clock):
    clock.move_to(tokyo(2026, 11, 16))
    referral = sent_referral(session, app, people["owner"])
    reminders.on_referral_change(session.get(Referral, referral.id))
    reminders.on_referral_change(session.get(Referral, referral.id))
    session.commit()
    assert len(rows(session, kind="partner_ack")) == 1


def test_a_crash_mid_sweep_leaves_the_reminder_due_and_it_is_sent_once(session, app, people,
                                                                       policy, clock,
                                                                       monkeypatch):
    clock.move_to(tokyo(2026, 11, 16))
    sent_referral(session, app, people["owner"])
    clock.move_to(tokyo(2026, 11, 17))
    real = reminders._deliver

    def crash(*args, **kwargs):
        real(*args, **kwargs)  # the outbox rows are written, then the process dies
        raise RuntimeError("worker lost")

    monkeypatch.setattr(reminders, "_deliver", crash)
    assert reminders.sweep(session) == {"error": 1}
    [ack] = rows(session, kind="partner_ack")
    assert ack.status == "due" and reminder_deliveries(session, ack.id) == []
    monkeypatch.setattr(reminders, "_deliver", real)
    assert reminders.sweep(session) == {"sent": 1}
    assert reminders.sweep(session) == {}
    assert len(reminder_deliveries(session, ack.id)) == 1


@pytest.mark.real_commits  # two threads, two connections
def test_two_concurrent_sweeps_send_each_reminder_once(session, app, people, policy, clock):
    """Both sweeps see the same due rows; the conditional UPDATE lets only one take each."""
    clock.move_to(tokyo(2026, 11, 16, 9))
    count = 40
    due_cases(session, people["owner"], tokyo(2026, 11, 16, 10), count)
    clock.move_to(tokyo(2026, 11, 16, 11))
    now = utcnow()

    def sweep(own, start):
        ids = reminders.due_ids(own, now)
        start.wait()  # both hold the full list before either fires
        return [reminders.fire(own, reminder_id, now) for reminder_id in ids]

    outcomes = in_two_threads(app, sweep)
    assert all(len(o) == count for o in outcomes)  # both tried every one
    fired = [o for o in outcomes[0] + outcomes[1] if o is not None]
    assert fired == ["sent"] * count
    assert {r.status for r in rows(session, seq=1)} == {"sent"}
    per_reminder = session.execute(select(StaffNotice.reminder_id, func.count())
                                   .group_by(StaffNotice.reminder_id)).all()
    assert len(per_reminder) == count and {n for _, n in per_reminder} == {1}
    assert len(rows(session, seq=2)) == count  # one successor each, not two


# --------------------------------------------------------------------------- staff e-mail


def test_staff_notice_retries_transient_failures_and_stops_on_permanent_ones(
        session, app, people, policy, clock, notifier):
    clock.move_to(tokyo(2026, 11, 16))
    due_cases(session, people["owner"], tokyo(2026, 11, 16, 10))
    assert reminders.sweep(session) == {"sent": 1}
    notice = session.scalar(select(StaffNotice))
    notifier.fail_with = NotifyError("connection refused")
    assert notify(session, notice.id) == "retry"
    session.expire_all()
    notice = session.get(StaffNotice, notice.id)
    assert notice.state == "pending" and notice.attempts == 1
    assert notice.next_attempt_at > utcnow()
    assert notify(session, notice.id) == "skipped"  # not due yet
    clock.move_to(utcnow() + timedelta(minutes=5))
    notifier.fail_with = NotifyError("mailbox unknown", permanent=True)
    assert notify(session, notice.id) == "retry"
    session.expire_all()
    notice = session.get(StaffNotice, notice.id)
    assert (notice.state, notice.last_error) == ("failed", "mailbox unknown")


def test_without_smtp_the_notice_is_written_as_a_mail_file(session, app, people, policy, clock,
                                                          monkeypatch, tmp_path):
    monkeypatch.setitem(app.config, "CASEAPP",
                        app.config["CASEAPP"].with_(instance_path=tmp_path, smtp_host=None))
    clock.move_to(tokyo(2026, 11, 16))
    due_cases(session, people["owner"], tokyo(2026, 11, 16, 10))
    reminders.sweep(session)
    notice = session.scalar(select(StaffNotice))
    notify(session, notice.id)
    session.expire_all()
    notice = session.get(StaffNotice, notice.id)
    assert notice.state == "sent" and notice.last_error is None
    [written] = (tmp_path / "mail").glob("*.eml")
    message = BytesParser(policy=email.policy.default).parsebytes(written.read_bytes())
    assert message["Message-ID"] == f"<{notice.message_id}@caseapp>"
    assert message["Subject"] == notice.subject and message["To"] == ", ".join(notice.recipients)
    assert message.get_content().splitlines() == notice.body.splitlines()


def test_only_active_supervisors_receive_escalations(session, app, people, policy, clock):
    retired, _ = auth.create_user(session, "retired", "supervisor", email="old@example.jp")
    retired.active = False
    session.commit()
    assert reminders._supervisor_emails(session, reminders.current_policy()) == [
        people["boss"].email]
    assert session.scalar(select(User).where(User.name == "retired")).active is False
