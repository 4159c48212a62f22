"""The outbox: rows in the database are the record of what must be sent; Celery carries hints.

One mechanism for every table of outgoing messages (referral deliveries, staff notices):

* a row is written in the caller's transaction; when that transaction commits, the session's
  ``after_commit`` hook hands the ids of the rows it wrote (or made due again) to the broker,
  so no caller enqueues anything and nothing is enqueued for a transaction that rolled back;
* a worker claims a row before sending (PostgreSQL: ``FOR UPDATE SKIP LOCKED``; SQLite: a
  compare-and-set UPDATE), so duplicate hints, sweeps and workers send it once; a crash
  mid-send leaves a lease that expires, and the row is tried again with the same message id;
* a failed attempt makes the row due again after a backoff with jitter, until the schedule is
  used up;
* the sweeper (beat) hands every due row to the broker again, so a broker outage or a crash
  between commit and hint loses nothing.
"""

from __future__ import annotations

import functools
import logging
import random
import secrets
import time
from datetime import datetime, timedelta

from flask import current_app, has_app_context
from sqlalchemy import Engine, bindparam, event, or_, select, text, union_all, update
from sqlalchemy.orm import Session, attributes

from caseapp.domain.vocab import DeliveryState
from caseapp.models import Delivery, Referral, StaffNotice

log = logging.getLogger(__name__)

SWEEP_BATCH = 500
# Rows one delivery task takes at once, and so the ids one hint carries: a deep queue costs a
# tenth of the broker messages and tasks, and the rows are sent side by side.
BATCH = 10
BROKER_BACKOFF = 5.0  # after a failed publish, skip publishing for this long (seconds)
DELIVER_TASK = "caseapp.deliver"
NOTIFY_TASK = "caseapp.notify_staff"
REQUESTED = "referral.requested"
REMINDER = "referral.reminder"
_broker_down_until = 0.0

_WRITTEN = "caseapp.outbox.written"
_DUE = "caseapp.outbox.due"
_HOLD = "caseapp.outbox.hold"
# A row that leaves one of these states for "pending" was released or retried by a person.
_MADE_DUE_FROM = frozenset({DeliveryState.HELD, DeliveryState.FAILED, DeliveryState.CANCELLED})


def message_id(prefix: str = "msg") -> str:
    """Fixed when the row is written and reused on every attempt, so a receiver can de-dupe."""
    return f"{prefix}_{secrets.token_hex(16)}"


# --------------------------------------------------------------------------- writing rows


def email_enabled() -> bool:
    """Whether partner e-mail goes out: always, by SMTP or, without a relay, as .eml files
    (caseapp.services.delivery.gateways.mail_gateway)."""
    return True


def add_deliveries(session: Session, referral: Referral, *, email_enabled: bool, now: datetime,
                   reminder_id: int | None = None) -> list[Delivery]:
    """One outbox row per channel of the referral's partner: the one place they are written.

    For the referral itself (``referral.requested``) an existing row (a re-release, a retry) is
    made due again instead, so it keeps its message id for life and a partner never sees two
    ids for one referral. A reminder (``referral.reminder``) gets rows of its own.
    """
    channels = referral.partner.channels(email_enabled=email_enabled)
    rows = []
    if reminder_id is not None:
        for channel in channels:
            row = Delivery(referral_id=referral.id, channel=channel, event_type=REMINDER,
                           reminder_id=reminder_id, message_id=message_id(),
                           state=DeliveryState.PENDING, next_attempt_at=now)
            session.add(row)
            rows.append(row)
        return rows
    existing = {d.channel: d for d in referral.deliveries if d.event_type == REQUESTED}
    for channel in channels:
        row = existing.get(channel)
        if row is None:
            row = Delivery(referral=referral, **requested_row(channel, now))
            session.add(row)
        elif row.state in _MADE_DUE_FROM or row.state == DeliveryState.PENDING:
            if row.state == DeliveryState.FAILED:
                row.attempts = 0  # a retry gets the whole schedule again
            row.state, row.next_attempt_at = DeliveryState.PENDING, now
            row.leased_until = row.enqueued_at = None
        rows.append(row)
    return rows


def requested_row(channel: str, now: datetime) -> dict:
    """A new ``referral.requested`` row's values, due at once (``add_deliveries``, intake)."""
    return dict(channel=channel, event_type=REQUESTED, message_id=message_id(),
                state=DeliveryState.PENDING, next_attempt_at=now)


# --------------------------------------------------------------------------- hand-over


def hint(task: str, ids: list[int], per_message: int = 1) -> list[int]:
    """Hand ids to the workers, ``per_message`` to a message; returns the ids the broker took.

    If the broker is down the rows wait in the database for the sweeper; the first failure
    stops the batch (and, for a few seconds, later batches), so a request is not slowed by
    one connection timeout per message.
    """
    global _broker_down_until
    if not ids or time.monotonic() < _broker_down_until:
        return []
    celery = current_app.extensions["celery"]
    sent = []
    for start in range(0, len(ids), per_message):
        chunk = ids[start:start + per_message]
        try:
            celery.send_task(task, args=tuple(chunk), retry=False)
        except Exception as exc:  # the broker is only a hint; never fail the request for it
            _broker_down_until = time.monotonic() + BROKER_BACKOFF
            log.warning("could not enqueue %d %s hints (%s); the sweeper will send them",
                        len(ids) - len(sent), task, exc.__class__.__name__)
            break
        sent.extend(chunk)
    return sent


def enqueue(delivery_ids: list[int]) -> list[int]:
    """Hint the workers about referral deliveries (the hook and the sweeper call this)."""
    return hint(DELIVER_TASK, delivery_ids, per_message=BATCH)


def leave_to_sweeper(session: Session) -> None:
    """Hint nothing when this transaction commits (a bulk load; the sweeper finds the rows)."""
    session.info[_HOLD] = True


def made_due(session: Session, row) -> None:
    """Hand this row over when the transaction commits, whatever state it was made due from."""
    session.info.setdefault(_WRITTEN, []).append(row)


def _written(session: Session, _flush_context) -> None:
    """After each flush: remember the outbox rows this transaction wrote or made due again."""
    found = [obj for obj in session.new if isinstance(obj, Delivery | StaffNotice)]
    for obj in session.dirty:
        if isinstance(obj, Delivery):
            before = attributes.get_history(obj, "state").deleted
            if before and before[0] in _MADE_DUE_FROM:
                found.append(obj)
    if found:
        session.info.setdefault(_WRITTEN, []).extend(found)


def _collect(session: Session) -> None:
    """Before commit: the ids of those rows that are still due."""
    written = session.info.pop(_WRITTEN, None)
    if session.info.pop(_HOLD, False) or not written:
        return
    if any(obj.id is None for obj in written):
        session.flush()
    due = {DELIVER_TASK: [], NOTIFY_TASK: []}
    for obj in written:
        if obj.state == DeliveryState.PENDING:
            task = DELIVER_TASK if isinstance(obj, Delivery) else NOTIFY_TASK
            if obj.id not in due[task]:
                due[task].append(obj.id)
    session.info[_DUE] = due


def _hand_over(session: Session) -> None:
    due = session.info.pop(_DUE, None)
    if not due or not has_app_context() or "celery" not in current_app.extensions:
        return
    try:
        enqueue(due[DELIVER_TASK])
        hint(NOTIFY_TASK, due[NOTIFY_TASK])
    except Exception:  # committed is committed: the sweeper sends what the hint missed
        log.exception("handing committed outbox rows to the broker failed")


def _discard(session: Session, *_args) -> None:
    for key in (_WRITTEN, _DUE, _HOLD):
        session.info.pop(key, None)


def install(session_class) -> None:
    """Hand what each transaction wrote to the broker once it has committed."""
    if not event.contains(session_class, "after_flush", _written):
        event.listen(session_class, "after_flush", _written)
        event.listen(session_class, "before_commit", _collect)
        event.listen(session_class, "after_commit", _hand_over)
        event.listen(session_class, "after_soft_rollback", _discard)


# --------------------------------------------------------------------------- sending


def claim(session: Session, row_id: int, now: datetime, lease_seconds: float, *,
          model: type = Delivery):
    """Take a due row for one attempt, or None if it is not due or someone else has it."""
    due = (select(model.id)
           .where(model.id == row_id, model.state == DeliveryState.PENDING,
                  model.next_attempt_at <= now))
    if session.get_bind().dialect.name == "postgresql":
        # Another worker holding the row is skipped at once rather than waited for.
        due = due.with_for_update(skip_locked=True)
        # A claim lost in a database crash only means the row is sent again with the same
        # id, which at-least-once allows; so this commit need not wait for the disk.
        session.execute(text("SET LOCAL synchronous_commit = off"))
    values = {"state": DeliveryState.IN_FLIGHT,
              "leased_until": now + timedelta(seconds=lease_seconds),
              "attempts": model.attempts + 1}
    if hasattr(model, "enqueued_at"):
        values["enqueued_at"] = None
    statement = (
        update(model)
        .where(model.id.in_(due.scalar_subquery()), model.state == DeliveryState.PENDING)
        .values(**values)
        .execution_options(synchronize_session=False, populate_existing=True))
    if not session.get_bind().dialect.update_returning:  # SQLite before 3.35
        claimed = session.execute(statement).rowcount == 1
        session.commit()
        return session.get(model, row_id, populate_existing=True) if claimed else None
    rows = session.scalars(statement.returning(model)).all()
    session.commit()
    return rows[0] if rows else None


def any_due(session: Session, now: datetime) -> bool:
    """Whether any row is due now, read with one statement outside any transaction.

    At the end of a deep queue most hints find every row already taken by other tasks'
    batches; this answers them with one round trip instead of BEGIN, a claim that matches
    nothing and ROLLBACK. While anything is due a hint claims as before (its own row if
    due, and other due rows), so a deep queue still drains ten rows per task. A session
    bound to a caller's connection reads in that transaction, and SQLite (no round trips
    to save; a second connection would wait on the session's lock) in the session.
    """
    table = Delivery.__table__
    statement = (select(table.c.id).where(table.c.state == DeliveryState.PENDING,
                                          table.c.next_attempt_at <= now).limit(1))
    bind = session.get_bind()
    if not isinstance(bind, Engine) or bind.dialect.name != "postgresql":
        return session.scalar(statement) is not None
    with bind.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        return connection.scalar(statement) is not None


def claim_due(session: Session, row_ids: list[int], now: datetime, lease_seconds: float,
              limit: int) -> list[Delivery]:
    """Take the hinted rows that are still due, and other due rows with them up to ``limit``.

    The caller's transaction stays open (it prepares the rows before committing). When the
    queue is deep, one task takes several rows and their own hints find them taken; when it is
    not, this is the hinted rows' claim. Without UPDATE … RETURNING only hinted rows are taken.
    A hint whose rows are taken costs one UPDATE that matches nothing: the statement is built
    once per process and runs as Core; only taken rows are loaded as objects.
    """
    bind = session.get_bind()
    postgres = bind.dialect.name == "postgresql"
    returning = bind.dialect.update_returning
    others = max(limit - len(row_ids), 0)
    batch = others > 0 and returning
    params = {"row_ids": row_ids, "now": now, "others": others,
              "leased_until": now + timedelta(seconds=lease_seconds)}
    statement = _claim_statement(postgres, batch, returning)
    if not returning:  # SQLite before 3.35: one row at a time, to know which were taken
        taken = [row_id for row_id in row_ids
                 if session.execute(statement, params | {"row_ids": [row_id]}).rowcount == 1]
        return [session.get(Delivery, row_id, populate_existing=True) for row_id in taken]
    ids = list(session.scalars(statement, params))
    if not ids:
        return []
    if postgres:
        # A claim lost in a database crash only means the rows are checked and sent again with
        # the same ids, which at-least-once allows; so this commit need not wait for the disk.
        # (Set only when something was taken: a hint that finds nothing costs no more.)
        session.execute(text("SET LOCAL synchronous_commit = off"))
    rows = session.scalars(select(Delivery).where(Delivery.id.in_(ids))
                           .execution_options(populate_existing=True)).all()
    hinted = set(row_ids)
    return sorted(rows, key=lambda row: (row.id not in hinted, row.id))


@functools.cache
def _claim_statement(postgres: bool, batch: bool, returning: bool):
    """The claim UPDATE for one kind of database, with its values as parameters."""
    table = Delivery.__table__
    due = (table.c.state == DeliveryState.PENDING, table.c.next_attempt_at <= bindparam("now"))
    hinted = select(table.c.id).where(table.c.id.in_(bindparam("row_ids", expanding=True)), *due)
    others = (select(table.c.id)
              .where(table.c.id.not_in(bindparam("row_ids", expanding=True)), *due)
              .order_by(table.c.next_attempt_at).limit(bindparam("others")))
    if postgres:
        # Rows another worker holds are skipped at once rather than waited for.
        hinted = hinted.with_for_update(skip_locked=True)
        others = others.with_for_update(skip_locked=True)
    if batch:
        # Two CTEs, not two ORed IN-subqueries: PostgreSQL would test those against every
        # pending row, so a claim would slow down as the queue it is meant to drain grows.
        hinted, others = hinted.cte("hinted"), others.cte("others")
        which = table.c.id.in_(union_all(select(hinted.c.id), select(others.c.id)))
    else:
        which = table.c.id.in_(hinted.scalar_subquery())
    statement = (
        update(table).where(which, table.c.state == DeliveryState.PENDING)
        .values(state=DeliveryState.IN_FLIGHT, enqueued_at=None,
                leased_until=bindparam("leased_until"), attempts=table.c.attempts + 1))
    return statement.returning(table.c.id) if returning else statement


def retry_delay(attempts: int, delays: tuple[int, ...], retry_after: float | None) -> float:
    delay = delays[min(attempts, len(delays)) - 1]
    # Jitter spreads the retries of a receiver that was down for everyone at once.
    return max(delay * random.uniform(0.8, 1.2), retry_after or 0.0)


def after_failure(row, error: str | None, *, permanent: bool, delays: tuple[int, ...],
                  now: datetime, retry_after: float | None = None) -> str:
    """A claimed row's attempt failed: due again after a backoff, or failed for good."""
    row.leased_until, row.last_error = None, error
    if permanent or row.attempts > len(delays):
        row.state = DeliveryState.FAILED
    else:
        row.state = DeliveryState.PENDING
        row.next_attempt_at = now + timedelta(seconds=retry_delay(row.attempts, delays,
                                                                  retry_after))
    return row.state


def stale_ids(session: Session, model: type, now: datetime, limit: int) -> list[int]:
    """Rows in flight past their lease: the worker that held them was lost."""
    query = (select(model.id).where(model.state == DeliveryState.IN_FLIGHT,
                                    model.leased_until < now)
             .order_by(model.id).limit(limit))
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    return list(session.scalars(query))


def due_ids(session: Session, model: type, now: datetime, limit: int = SWEEP_BATCH, *,
            requeue_after: timedelta | None = None) -> list[int]:
    """Rows due now; with ``requeue_after``, not those handed to the broker more recently."""
    query = select(model.id).where(model.state == DeliveryState.PENDING,
                                   model.next_attempt_at <= now)
    if requeue_after is not None:
        recent = now - requeue_after
        query = query.where(or_(model.enqueued_at.is_(None), model.enqueued_at < recent))
    ids = list(session.scalars(query.order_by(model.next_attempt_at).limit(limit)))
    session.commit()
    return ids


def sweep_deliveries(session: Session, now: datetime, requeue_after: timedelta,
                     limit: int = SWEEP_BATCH) -> list[int]:
    """Hand every due delivery to the broker again, leaving recently hinted ones alone."""
    ids = due_ids(session, Delivery, now, limit, requeue_after=requeue_after)
    sent = enqueue(ids)
    if sent:
        session.execute(update(Delivery)
                        .where(Delivery.id.in_(sent), Delivery.state == DeliveryState.PENDING)
                        .values(enqueued_at=now).execution_options(synchronize_session=False))
        session.commit()
    return sent
