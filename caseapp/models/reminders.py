from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from caseapp.domain.vocab import ReminderKind, ReminderStatus, values
from caseapp.extensions import db
from caseapp.models.belonging import OfCase
from caseapp.models.types import JSONType, UTCDateTime, utcnow

REMINDER_KINDS = values(ReminderKind)
REMINDER_STATUSES = values(ReminderStatus)


class Reminder(OfCase, db.Model):
    """督促・フォローアップ: one scheduled reminder; the schedule lives here, not in Celery.

    ``status`` is ``due`` (waiting for ``due_at``), ``sent`` or ``withdrawn``. The sweep moves
    ``due`` to ``sent`` with a conditional UPDATE, so a reminder is sent once however many
    sweeps run; ``dedup_key`` (kind, target, stage or anchor, number) stops it being scheduled
    twice.
    """

    __tablename__ = "reminders"
    # id is in the index so the sweep's due query is answered from the index alone.
    __table_args__ = (Index("ix_reminders_status_due_at", "status", "due_at", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(30))
    status: Mapped[str] = mapped_column(String(20), default="due")
    dedup_key: Mapped[str] = mapped_column(String(200), unique=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    referral_id: Mapped[int | None] = mapped_column(ForeignKey("referrals.id"), index=True)
    # The referral status the reminder waits on the partner to leave (partner/client kinds).
    stage: Mapped[str | None] = mapped_column(String(20))
    # The case's next_action_at being chased (case_next_action and its escalation).
    anchor_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    seq: Mapped[int] = mapped_column(default=1)
    escalates: Mapped[str | None] = mapped_column(String(30))
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    withdrawn_reason: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    case = relationship("Case")
    referral = relationship("Referral")
    deliveries = relationship("Delivery", order_by="Delivery.id", viewonly=True)
    notice = relationship("StaffNotice", uselist=False, viewonly=True)


class StaffNotice(db.Model):
    """The outbox for e-mail to staff: a notice and a link, never a client's details.

    Claimed like a delivery (conditional UPDATE, lease, stable ``message_id``), so a crash
    mid-send repeats the same message at most, and nothing is lost.
    """

    __tablename__ = "staff_notices"
    __table_args__ = (
        Index("ix_staff_notices_state_next_attempt_at", "state", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    reminder_id: Mapped[int] = mapped_column(ForeignKey("reminders.id"), unique=True)
    recipients: Mapped[list] = mapped_column(JSONType, default=list)
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    message_id: Mapped[str] = mapped_column(String(64), unique=True)
    state: Mapped[str] = mapped_column(String(20), default="pending")
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    leased_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
