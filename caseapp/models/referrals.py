from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from caseapp.domain import vocab
from caseapp.extensions import db
from caseapp.models.belonging import Municipal, OfReferral
from caseapp.models.types import UTCDateTime, utcnow

OPEN_STATUSES = tuple(s.value for s in vocab.OPEN_STATUSES)
STATUSES = vocab.values(vocab.ReferralStatus)
# When a referral first reached each step, kept on the row so the funnel is one scan.
MILESTONES = ("requested", "sent", "received", "accepted", "rejected", "completed")


class Referral(Municipal, db.Model):
    """つなぎ: one case handed to one partner, followed until the partner reports back."""

    __tablename__ = "referrals"
    __table_args__ = (Index("ix_referrals_partner_status", "partner_id", "status"),
                      Index("ix_referrals_status_ack_due_at", "status", "ack_due_at"))

    id: Mapped[int] = mapped_column(primary_key=True)
    # The municipality the row belongs to: the boundary every query is scoped by.
    municipality_id: Mapped[int | None] = mapped_column(ForeignKey("areas.id"), index=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    consultation_id: Mapped[int | None] = mapped_column(ForeignKey("consultations.id"),
                                                        index=True)
    partner_id: Mapped[int] = mapped_column(ForeignKey("partners.id"))
    reason: Mapped[str] = mapped_column(Text)
    method: Mapped[str] = mapped_column(String(20))
    urgency: Mapped[str] = mapped_column(String(20), default="normal")
    status: Mapped[str] = mapped_column(String(20))
    legal_basis: Mapped[str | None] = mapped_column(String(100))
    rule_id: Mapped[str | None] = mapped_column(String(100))
    outcome: Mapped[str | None] = mapped_column(String(50))
    outcome_note: Mapped[str | None] = mapped_column(Text)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    requested_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    received_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    rejected_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # When the current status was entered, and by when the partner must answer it (the ack
    # SLA in business days); stored so "overdue" is one indexed comparison, not a calendar scan.
    status_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=utcnow)
    ack_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    status_reason: Mapped[str | None] = mapped_column(Text)  # why rejected / cancelled
    # A rejected or failed referral stays in its owner's queue until re-routed or marked handled.
    handled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    handled_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    handled_note: Mapped[str | None] = mapped_column(Text)

    case = relationship("Case", back_populates="referrals")
    consultation = relationship("Consultation", back_populates="referrals")
    partner = relationship("Partner")
    history = relationship("ReferralEvent", order_by="ReferralEvent.id",
                           cascade="all, delete-orphan")
    deliveries = relationship("Delivery", order_by="Delivery.id", back_populates="referral")
    safety_reviews = relationship("SafetyReview", order_by="SafetyReview.id",
                                  back_populates="referral")


class ReferralEvent(OfReferral, db.Model):
    __tablename__ = "referral_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    referral_id: Mapped[int] = mapped_column(ForeignKey("referrals.id"), index=True)
    from_status: Mapped[str | None] = mapped_column(String(20))
    to_status: Mapped[str] = mapped_column(String(20))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    actor_label: Mapped[str] = mapped_column(String(100), default="system")
    note: Mapped[str | None] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Delivery(OfReferral, db.Model):
    """The outbox: one row per referral and channel, the record of truth for sending.

    A reminder to the partner (``referral.reminder``) is one more row per channel, tied to its
    reminder; the partial unique index keeps one ``referral.requested`` row per channel.

    States: ``pending`` (due at ``next_attempt_at``), ``in_flight`` (claimed until
    ``leased_until``), ``delivered``, ``failed`` (exhausted or refused for good), ``held``
    (its referral waits for consent), ``cancelled`` (its referral was cancelled).

    ``message_id`` is fixed when the row is written and reused on every attempt, so a
    partner can de-duplicate (Standard Webhooks ``webhook-id``, e-mail ``Message-ID``).
    """

    __tablename__ = "deliveries"
    __table_args__ = (
        Index("uq_deliveries_referral_channel_event", "referral_id", "channel", "event_type",
              unique=True, sqlite_where=text("reminder_id IS NULL"),
              postgresql_where=text("reminder_id IS NULL")),
        UniqueConstraint("reminder_id", "channel"),
        Index("ix_deliveries_state_next_attempt_at", "state", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    referral_id: Mapped[int] = mapped_column(ForeignKey("referrals.id"))
    channel: Mapped[str] = mapped_column(String(20))
    event_type: Mapped[str] = mapped_column(String(50), default="referral.requested")
    reminder_id: Mapped[int | None] = mapped_column(ForeignKey("reminders.id"))
    message_id: Mapped[str] = mapped_column(String(64), unique=True)
    state: Mapped[str] = mapped_column(String(20), default="pending")
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    leased_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # When a hint was last handed to the broker; the sweeper leaves recent ones alone so a
    # broker backlog is not multiplied every minute.
    enqueued_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    referral = relationship(Referral, back_populates="deliveries")
    attempt_rows = relationship("DeliveryAttempt", order_by="DeliveryAttempt.id")


class DeliveryAttempt(db.Model):
    __tablename__ = "delivery_attempts"

    id: Mapped[int] = mapped_column(primary_key=True)
    delivery_id: Mapped[int] = mapped_column(ForeignKey("deliveries.id"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    duration_ms: Mapped[int] = mapped_column(default=0)
    status_code: Mapped[int | None]
    error: Mapped[str | None] = mapped_column(Text)
    succeeded: Mapped[bool] = mapped_column(default=False)


class AckLinkUse(OfReferral, db.Model):
    """A no-login acknowledgement link that has been used; the unique nonce makes it single-use."""

    __tablename__ = "ack_link_uses"

    id: Mapped[int] = mapped_column(primary_key=True)
    nonce: Mapped[str] = mapped_column(String(64), unique=True)
    referral_id: Mapped[int] = mapped_column(ForeignKey("referrals.id"), index=True)
    used_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    source_ip: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(300))


class AckCode(OfReferral, db.Model):
    """The short code printed on one 紹介状, typed at ``/ack`` instead of opening the QR link.

    It shares its nonce with the signed link printed beside it, so the letter acknowledges
    once whichever the partner uses: a use is an ``AckLinkUse`` row with that nonce.
    """

    __tablename__ = "ack_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(8), unique=True)
    nonce: Mapped[str] = mapped_column(String(64), unique=True)
    referral_id: Mapped[int] = mapped_column(ForeignKey("referrals.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    referral = relationship(Referral)


class SafetyReview(OfReferral, db.Model):
    """A referral sent on life_safety (個人情報保護法 §27(1)(ii)) and a supervisor's review of it.

    Written when staff invoke the exception, with their reason; a supervisor records afterwards
    whether the exception was rightly used.
    """

    __tablename__ = "safety_reviews"

    id: Mapped[int] = mapped_column(primary_key=True)
    referral_id: Mapped[int] = mapped_column(ForeignKey("referrals.id"), index=True)
    reason: Mapped[str] = mapped_column(Text)
    invoked_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    invoked_by_label: Mapped[str] = mapped_column(String(100), default="system")
    invoked_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    alert_id: Mapped[int | None] = mapped_column(ForeignKey("staff_alerts.id"))
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    reviewed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    reviewed_by_label: Mapped[str | None] = mapped_column(String(100))
    outcome: Mapped[str | None] = mapped_column(String(20))
    note: Mapped[str | None] = mapped_column(Text)

    referral = relationship(Referral, back_populates="safety_reviews")
    alert = relationship("StaffAlert")
