"""Reminders (督促・フォローアップ): 迷子にさせない.

What stalls is reminded, then escalated, and never reminded twice for the same thing:

* A state change schedules reminders as rows (``on_referral_change``, ``on_case_change``);
  ``dedup_key`` makes scheduling idempotent, and a change that makes a reminder moot withdraws
  it at once.
* Beat's sweep fires what is due (``sweep``), a batch per transaction. Reminders are taken
  with a conditional UPDATE (``due`` → ``sent``) in the same transaction that writes their
  outbox rows and schedules their successors, so two sweeps, a rerun or a crash mid-sweep send
  each once: a second sweep's UPDATE matches nothing, and a crash rolls the batch back to ``due``.
* Whether a reminder still matters is one function, ``still_waiting``, used both to withdraw on
  change and to check again when it is due (a path that changed state without the hook cannot
  make the sweep send a moot reminder).

Due times follow the counter's business calendar (Asia/Tokyo, public holidays, 年末年始) and
are moved into opening hours, so nobody is chased at night or on a holiday.
"""

from __future__ import annotations

import functools
import logging
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime

from flask import current_app, has_app_context
from sqlalchemy import exists, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session, object_session

from caseapp.config import Config
from caseapp.domain.vocab import (
    CaseStatus,
    DeliveryState,
    ReferralStatus,
    ReminderKind,
    ReminderStatus,
)
from caseapp.models import Case, Emergency, Referral, Reminder, StaffNotice, User
from caseapp.models.types import utcnow
from caseapp.rules.calendar import add_business_days, next_business_morning
from caseapp.services.core import audit
from caseapp.services.core.actors import Actor
from caseapp.services.core.pagination import Page, paginate
from caseapp.services.delivery import outbox

log = logging.getLogger(__name__)

SWEEP_BATCH = 200
# Reminders per transaction: large enough to amortise the commit, small enough that a
# failure retried one by one stays cheap.
SEND_BATCH = 50
K, S = ReminderKind, ReferralStatus
PARTNER_KINDS = frozenset({K.PARTNER_ACK, K.PARTNER_PROGRESS})
# Kinds that repeat while unanswered and are escalated after ``escalate_after`` reminders.
CHAINED_KINDS = frozenset({K.PARTNER_ACK, K.PARTNER_PROGRESS, K.CASE_NEXT_ACTION})

# For each (kind, stage the chain started in): the referral statuses in which it still waits.
WAITING: dict[tuple[str, str], frozenset[str]] = {
    (K.PARTNER_ACK, S.SENT): frozenset({S.SENT}),
    (K.PARTNER_PROGRESS, S.RECEIVED): frozenset({S.RECEIVED}),
    (K.PARTNER_PROGRESS, S.ACCEPTED): frozenset({S.ACCEPTED, S.IN_PROGRESS}),
    (K.CLIENT_FOLLOWUP, S.ACCEPTED): frozenset({S.ACCEPTED, S.IN_PROGRESS}),
    (K.CLIENT_FOLLOWUP, S.COMPLETED): frozenset({S.COMPLETED}),
}

_LABELS = {
    K.PARTNER_ACK: "つなぎ先の受理",
    K.PARTNER_PROGRESS: "つなぎ先の対応結果",
    K.CLIENT_FOLLOWUP: "ご本人の様子の確認",
    K.CASE_NEXT_ACTION: "次の対応",
    K.ESCALATION: "エスカレーション",
}


@dataclass(frozen=True)
class Policy:
    progress_days: int = 10
    followup_days: int = 5
    repeat_days: int = 2
    escalate_after: int = 2
    supervisor_email: str | None = None
    base_url: str = "http://127.0.0.1:8000"
    # Partner reminders go by e-mail too (SMTP, or .eml files without a relay).
    email_enabled: bool = True

    @classmethod
    def from_config(cls, config: Config) -> Policy:
        return cls(progress_days=config.partner_progress_days,
                   followup_days=config.client_followup_days,
                   repeat_days=config.reminder_repeat_days,
                   escalate_after=config.escalate_after,
                   supervisor_email=config.supervisor_email, base_url=config.base_url)


def current_policy() -> Policy:
    if has_app_context():
        return Policy.from_config(current_app.config["CASEAPP"])
    return Policy()


def business_due(start: datetime, days: int) -> datetime:
    """``days`` business days after ``start``, moved into opening hours; stored in UTC."""
    return next_business_morning(add_business_days(start, days)).astimezone(UTC)


# --------------------------------------------------------------------------- relevance


def still_waiting(reminder: Reminder, case: Case | None, referral: Referral | None) -> bool:
    """Is the thing this reminder chases still unanswered?"""
    if case is None or case.status != CaseStatus.OPEN:
        return False
    kind = reminder.escalates or reminder.kind
    if kind == K.CASE_NEXT_ACTION:
        return case.next_action_at is not None and reminder.anchor_at is not None \
            and case.next_action_at == reminder.anchor_at
    if referral is None:
        return False
    return referral.status in WAITING.get((kind, reminder.stage or ""), frozenset())


# --------------------------------------------------------------------------- scheduling


def _stamp(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y%m%dT%H%M%S.%fZ")


def chain_key(kind: str, case_id: int, referral_id: int | None, stage: str | None,
              anchor_at: datetime | None) -> str:
    if kind == K.CASE_NEXT_ACTION:
        return f"case_next_action:c{case_id}:{_stamp(anchor_at)}"
    return f"{kind}:r{referral_id}:{stage}"


def _planned(*, kind: str, case_id: int, due_at: datetime, referral_id: int | None = None,
             stage: str | None = None, anchor_at: datetime | None = None, seq: int = 1,
             escalates: str | None = None) -> dict:
    """The row ``_schedule_all`` writes for one reminder."""
    chain = chain_key(escalates or kind, case_id, referral_id, stage, anchor_at)
    key = f"escalation:{chain}" if kind == K.ESCALATION else f"{chain}:{seq}"
    return dict(kind=kind, status=ReminderStatus.DUE, dedup_key=key, case_id=case_id,
                referral_id=referral_id, stage=stage, anchor_at=anchor_at, seq=seq,
                escalates=escalates, due_at=due_at, created_at=utcnow())


def _schedule(session: Session, **reminder) -> None:
    _schedule_all(session, [_planned(**reminder)])


def _schedule_all(session: Session, planned: list[dict]) -> None:
    """Insert each unless its key exists; a withdrawn one that matters again is made due again.

    ON CONFLICT rather than check-then-insert: two transactions scheduling the same thing
    at once leave one row, and neither fails (an IntegrityError would undo the caller's
    whole change, e.g. a partner's acknowledgement). One statement for all of them.
    """
    # One statement may not touch a row twice: the first of a key wins, as it would in turn.
    rows = list({row["dedup_key"]: row for row in reversed(planned)}.values())[::-1]
    if not rows:
        return
    # On the table, not the class, and with the rows as parameters: a Core statement compiled
    # once per process, where the ORM's multi-row VALUES was compiled anew for every call.
    session.execute(_upsert(session.get_bind().dialect.name), rows)


@functools.cache
def _upsert(dialect: str):
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    table = Reminder.__table__
    stmt = insert(table)
    return stmt.on_conflict_do_update(
        index_elements=[table.c.dedup_key],
        set_={"status": ReminderStatus.DUE, "due_at": stmt.excluded.due_at,
              "withdrawn_at": None, "withdrawn_reason": None},
        where=table.c.status == ReminderStatus.WITHDRAWN,
    )


def _withdraw(session: Session, ids: list[int], reason: str, now: datetime) -> int:
    if not ids:
        return 0
    # Conditional, so a reminder a sweep has just sent stays sent.
    result = session.execute(
        update(Reminder).where(Reminder.id.in_(ids), Reminder.status == ReminderStatus.DUE)
        .values(status=ReminderStatus.WITHDRAWN, withdrawn_at=now, withdrawn_reason=reason[:200])
        .execution_options(synchronize_session=False))
    return result.rowcount


def _withdraw_moot(session: Session, pending: list[Reminder], case: Case, reason: str,
                   now: datetime) -> None:
    moot = [r.id for r in pending
            if not still_waiting(r, case, r.referral)]
    _withdraw(session, moot, reason, now)


def on_referral_change(referral: Referral, *, now: datetime | None = None,
                       policy: Policy | None = None) -> None:
    """Called by ``referrals.move`` after every status change, inside its transaction."""
    session = object_session(referral)
    if session is not None:
        on_referrals_change(session, [referral], now=now, policy=policy)


def on_referrals_change(session: Session, referrals: list[Referral], *,
                        now: datetime | None = None, policy: Policy | None = None) -> None:
    """``on_referral_change`` for several referrals at once (a worker's batch of deliveries):
    one query for their due reminders and one statement for what they schedule."""
    if not referrals:
        return
    now = now or utcnow()
    policy = policy or current_policy()
    if any(r.id is None for r in referrals):
        session.flush()
    pending: dict[int, list[Reminder]] = {}
    for reminder in session.scalars(select(Reminder).where(
            Reminder.referral_id.in_({r.id for r in referrals}),
            Reminder.status == ReminderStatus.DUE).order_by(Reminder.id)):
        pending.setdefault(reminder.referral_id, []).append(reminder)
    planned = []
    for referral in referrals:
        case = referral.case
        _withdraw_moot(session, pending.get(referral.id, []), case,
                       f"referral is {referral.status}", now)
        if case is None or case.status != CaseStatus.OPEN:
            continue
        base = dict(case_id=referral.case_id, referral_id=referral.id, stage=referral.status)
        if referral.status == S.SENT:
            planned.append(_planned(kind=K.PARTNER_ACK, **base,
                                    due_at=business_due(now, referral.partner.ack_sla_days)))
        elif referral.status in (S.RECEIVED, S.ACCEPTED):
            planned.append(_planned(kind=K.PARTNER_PROGRESS, **base,
                                    due_at=business_due(now, policy.progress_days)))
        if referral.status in (S.ACCEPTED, S.COMPLETED):
            planned.append(_planned(kind=K.CLIENT_FOLLOWUP, **base,
                                    due_at=business_due(now, policy.followup_days)))
    _schedule_all(session, planned)


def on_case_change(session: Session, case: Case, *, now: datetime | None = None,
                   urgent: bool | None = None, new: bool = False) -> None:
    """Called after a case's owner, next action or status changed, inside that transaction.

    A case in an emergency is chased when its next action falls due, at any hour; any other
    case on the next business morning. ``urgent`` spares the lookup when the caller knows, and
    ``new`` (a case this transaction created) the one for reminders to withdraw.
    """
    now = now or utcnow()
    if case.id is None:
        session.flush()
    if not new:
        pending = list(session.scalars(select(Reminder).where(
            Reminder.case_id == case.id, Reminder.status == ReminderStatus.DUE)))
        reason = "case closed" if case.status != CaseStatus.OPEN else "next action rescheduled"
        _withdraw_moot(session, pending, case, reason, now)
    if case.status == CaseStatus.OPEN and case.next_action_at is not None:
        if urgent is None:
            urgent = session.scalar(select(exists().where(Emergency.case_id == case.id)))
        due_at = (case.next_action_at if urgent
                  else next_business_morning(case.next_action_at))
        _schedule(session, kind=K.CASE_NEXT_ACTION, case_id=case.id,
                  anchor_at=case.next_action_at, due_at=due_at.astimezone(UTC))


# --------------------------------------------------------------------------- the sweep


def due_ids(session: Session, now: datetime, limit: int = SWEEP_BATCH) -> list[int]:
    """The due query (indexed on status, due_at); bench/reminders_bench.py measures it."""
    ids = list(session.scalars(
        select(Reminder.id).where(Reminder.status == ReminderStatus.DUE, Reminder.due_at <= now)
        .order_by(Reminder.due_at).limit(limit)))  # the index's order: no sort of the backlog
    session.commit()
    return ids


def _fire_one(session: Session, reminder: Reminder, case: Case | None,
              referral: Referral | None, policy: Policy, now: datetime,
              successors: list[dict], supervisors: dict) -> str:
    """Write what a claimed reminder needs (or withdraw it); the caller commits, and writes
    ``successors`` (what it schedules next) with ``_schedule_all``."""
    if not still_waiting(reminder, case, referral):
        reminder.status, reminder.sent_at = ReminderStatus.WITHDRAWN, None
        reminder.withdrawn_at, reminder.withdrawn_reason = now, "moot when due"
        return "withdrawn"
    _deliver(session, reminder, case, referral, policy, now, supervisors)
    successors.extend(_follow_up(reminder, policy, now))
    return "sent"


def fire(session: Session, reminder_id: int, now: datetime,
         policy: Policy | None = None) -> str | None:
    """Send one reminder if it is still due; returns what happened, or None if taken already.

    The claim, the outbox rows and the next reminder commit together: there is no state in
    which the reminder is marked sent but its messages are missing, or the reverse.
    """
    policy = policy or current_policy()
    taken = session.execute(
        update(Reminder)
        .where(Reminder.id == reminder_id, Reminder.status == ReminderStatus.DUE,
               Reminder.due_at <= now)
        .values(status=ReminderStatus.SENT, sent_at=now)
        .execution_options(synchronize_session=False))
    if taken.rowcount != 1:
        session.rollback()
        return None
    try:
        reminder = session.get(Reminder, reminder_id, populate_existing=True)
        case = session.get(Case, reminder.case_id)
        referral = session.get(Referral, reminder.referral_id) if reminder.referral_id else None
        successors: list[dict] = []
        outcome = _fire_one(session, reminder, case, referral, policy, now, successors, {})
        _schedule_all(session, successors)
        # The sweep that fires reminders hands every due outbox row to the broker right after.
        outbox.leave_to_sweeper(session)
        session.commit()
    except Exception:
        session.rollback()
        raise
    return outcome


def fire_batch(session: Session, reminder_ids: list[int], now: datetime,
               policy: Policy | None = None) -> Counter[str]:
    """Send those of ``reminder_ids`` still due, all in one transaction.

    The claim is the same conditional UPDATE as ``fire``'s, for the whole batch: a reminder
    another sweep holds or has sent is not taken, and nothing is marked sent unless its
    messages commit with it. If anything in the batch fails, the whole transaction rolls back
    (every reminder of it is due again, nothing was handed over) and each is fired on its own,
    so one bad row costs its neighbours a retry, never a loss or a second message.
    """
    policy = policy or current_policy()
    if not reminder_ids:
        return Counter()
    claim = select(Reminder.id).where(Reminder.id.in_(reminder_ids),
                                      Reminder.status == ReminderStatus.DUE,
                                      Reminder.due_at <= now)
    if session.get_bind().dialect.name == "postgresql":
        claim = claim.with_for_update(skip_locked=True)  # another sweep's rows: leave them
    counts: Counter[str] = Counter()
    try:
        taken = list(session.scalars(
            update(Reminder)
            .where(Reminder.id.in_(claim.scalar_subquery()),
                   Reminder.status == ReminderStatus.DUE)
            .values(status=ReminderStatus.SENT, sent_at=now)
            .returning(Reminder.id)
            .execution_options(synchronize_session=False)))
        counts["skipped"] = len(reminder_ids) - len(taken)
        batch = list(session.scalars(select(Reminder).where(Reminder.id.in_(taken))
                                     .order_by(Reminder.due_at, Reminder.id)
                                     .execution_options(populate_existing=True)))
        # One query per table for the batch; the loop below then finds them in the session.
        cases = {c.id: c for c in session.scalars(
            select(Case).where(Case.id.in_({r.case_id for r in batch})))}
        referral_ids = {r.referral_id for r in batch if r.referral_id}
        referrals = {r.id: r for r in session.scalars(
            select(Referral).where(Referral.id.in_(referral_ids)))} if referral_ids else {}
        owners = {c.owner_id for c in cases.values() if c.owner_id}
        if owners:
            list(session.scalars(select(User).where(User.id.in_(owners))))
        successors: list[dict] = []
        supervisors: dict = {}
        # Nothing read below depends on what the batch writes: its staff notices and outbox
        # rows go out together at commit, its successors in one statement.
        with session.no_autoflush:
            for reminder in batch:
                counts[_fire_one(session, reminder, cases.get(reminder.case_id),
                                 referrals.get(reminder.referral_id), policy, now,
                                 successors, supervisors)] += 1
        _schedule_all(session, successors)
        outbox.leave_to_sweeper(session)
        session.commit()
    except Exception:
        session.rollback()
        log.warning("reminder batch failed; firing its %d reminders one by one",
                    len(reminder_ids), exc_info=True)
        return _fire_each(session, reminder_ids, now, policy)
    return +counts  # drop the zero counts


def _fire_each(session: Session, reminder_ids: list[int], now: datetime,
               policy: Policy) -> Counter[str]:
    counts: Counter[str] = Counter()
    for reminder_id in reminder_ids:
        try:
            outcome = fire(session, reminder_id, now, policy)
        except Exception:  # one bad row must not stop the rest; it stays due and is retried
            log.exception("reminder %s could not be sent", reminder_id)
            counts["error"] += 1
            continue
        counts[outcome or "skipped"] += 1
    return counts


def sweep(session: Session, now: datetime | None = None, *, limit: int = SWEEP_BATCH,
          policy: Policy | None = None, batch: int = SEND_BATCH) -> dict[str, int]:
    """Fire every due reminder (up to ``limit``), ``batch`` per transaction; safe to run any
    number of times at once."""
    now = now or utcnow()
    policy = policy or current_policy()
    counts: Counter[str] = Counter()
    ids = due_ids(session, now, limit)
    for start in range(0, len(ids), batch):
        counts.update(fire_batch(session, ids[start:start + batch], now, policy))
    return dict(+counts)


def _deliver(session: Session, reminder: Reminder, case: Case, referral: Referral | None,
             policy: Policy, now: datetime, supervisors: dict) -> None:
    if reminder.kind in PARTNER_KINDS:
        # Through the referral outbox, so the reminder inherits retries, signing and ids.
        outbox.add_deliveries(session, referral, email_enabled=policy.email_enabled, now=now,
                              reminder_id=reminder.id)
        return
    to = _staff_recipients(session, reminder, case, policy, supervisors)
    subject, body = _staff_text(reminder, case, referral, policy)
    session.add(StaffNotice(reminder_id=reminder.id, recipients=to, subject=subject, body=body,
                            message_id=outbox.message_id("ntc"),
                            state=DeliveryState.PENDING if to else DeliveryState.NO_RECIPIENT,
                            next_attempt_at=now))


def _supervisor_emails(session: Session, policy: Policy) -> list[str]:
    emails = list(session.scalars(select(User.email).where(
        User.role == "supervisor", User.active.is_(True), User.email.is_not(None))
        .order_by(User.id)))
    if not emails and policy.supervisor_email:
        emails = [policy.supervisor_email]
    return emails


def _staff_recipients(session: Session, reminder: Reminder, case: Case, policy: Policy,
                      supervisors: dict) -> list[str]:
    """``supervisors`` keeps the supervisors' addresses for the rest of the batch."""
    if reminder.kind != K.ESCALATION:
        owner = session.get(User, case.owner_id) if case.owner_id else None
        if owner is not None and owner.active and owner.email:
            return [owner.email]
    # Escalations, and a case nobody can be reached for, go to the supervisors.
    if "emails" not in supervisors:
        supervisors["emails"] = _supervisor_emails(session, policy)
    return list(supervisors["emails"])


def _staff_text(reminder: Reminder, case: Case, referral: Referral | None,
                policy: Policy) -> tuple[str, str]:
    """A notice and a link; never the client's name or details (e-mail is not a safe place)."""
    link = f"{policy.base_url}/api/v1/cases/{case.id}"
    partner = f"（{referral.partner.name}）" if referral is not None else ""
    if reminder.kind == K.ESCALATION:
        what = _LABELS[reminder.escalates]
        subject = (f"【エスカレーション】ケース #{case.id}: {what}{partner}を"
                   f"{reminder.seq - 1}回督促しましたが応答がありません")
    elif reminder.kind == K.CLIENT_FOLLOWUP:
        subject = (f"【フォローアップ】ケース #{case.id}: "
                   f"つなぎ先{partner}につないだ方の様子を確認してください")
    else:
        subject = f"【督促】ケース #{case.id}: 次の対応の期限が過ぎています"
    body = (f"{subject}\n\nケース: {link}\n督促番号: {reminder.id}（{reminder.kind}）\n"
            "このメールには相談者の個人情報は含まれていません。内容はシステムで確認してください。\n")
    return subject, body


def _follow_up(reminder: Reminder, policy: Policy, now: datetime) -> list[dict]:
    """Unanswered: remind again, and after ``escalate_after`` reminders escalate instead."""
    if reminder.kind not in CHAINED_KINDS:
        return []
    base = dict(case_id=reminder.case_id, referral_id=reminder.referral_id,
                stage=reminder.stage, anchor_at=reminder.anchor_at,
                due_at=business_due(now, policy.repeat_days))
    if reminder.seq < policy.escalate_after:
        return [_planned(kind=reminder.kind, seq=reminder.seq + 1, **base)]
    return [_planned(kind=K.ESCALATION, escalates=reminder.kind, seq=reminder.seq + 1, **base)]


# --------------------------------------------------------------------------- reading


def listing(session: Session, actor: Actor, *, status: str | None = None,
            kind: str | None = None, case_id: int | None = None,
            referral_id: int | None = None, mine: bool = False, page: int = 1,
            per_page: int = 50) -> Page:
    query = select(Reminder)
    if status:
        query = query.where(Reminder.status == status)
    if kind:
        query = query.where(Reminder.kind == kind)
    if case_id is not None:
        query = query.where(Reminder.case_id == case_id)
    if referral_id is not None:
        query = query.where(Reminder.referral_id == referral_id)
    if mine:
        query = query.join(Case, Case.id == Reminder.case_id).where(
            Case.owner_id == actor.user_id)
    order = (Reminder.due_at.asc(), Reminder.id.asc()) if status == ReminderStatus.DUE else \
        (Reminder.due_at.desc(), Reminder.id.desc())
    result = paginate(session, query.order_by(*order), page, per_page)
    audit.record(session, actor, "list", "reminder", None,
                 detail={"results": [r.id for r in result.items]})
    session.commit()
    return result
