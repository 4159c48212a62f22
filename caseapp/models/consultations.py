from datetime import datetime

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from caseapp.extensions import db
from caseapp.models.belonging import Municipal, OfCase, OfConsultation
from caseapp.models.types import JSONType, UTCDateTime, utcnow


class Consultation(Municipal, db.Model):
    __tablename__ = "consultations"

    id: Mapped[int] = mapped_column(primary_key=True)
    # The municipality the row belongs to: the boundary every query is scoped by.
    municipality_id: Mapped[int | None] = mapped_column(ForeignKey("areas.id"), index=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    client_id: Mapped[int | None] = mapped_column(ForeignKey("clients.id"), index=True)
    event_id: Mapped[int | None] = mapped_column(ForeignKey("events.id"), index=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    channel: Mapped[str] = mapped_column(String(20))
    # Where the person was seen (counter, あったかふれあいセンター, outreach, event) and which
    # center or area, when it is one.
    site: Mapped[str | None] = mapped_column(String(20))
    site_area_id: Mapped[int | None] = mapped_column(ForeignKey("areas.id"))
    urgency: Mapped[str] = mapped_column(String(20), default="normal")
    summary: Mapped[str] = mapped_column(Text, default="")
    facts: Mapped[dict] = mapped_column(JSONType, default=dict)
    ruleset_version: Mapped[int | None]
    # 断らない accounting: no rule but the catch-all referred it anywhere.
    fallback_only: Mapped[bool] = mapped_column(default=False)
    taken_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    case = relationship("Case", back_populates="consultations")
    client = relationship("Client")
    event = relationship("Event")
    site_area = relationship("Area", foreign_keys=[site_area_id])
    topic_rows = relationship("ConsultationTopic", cascade="all, delete-orphan",
                              order_by="ConsultationTopic.position")
    decisions = relationship("RoutingDecision", back_populates="consultation",
                             order_by="RoutingDecision.id")
    referrals = relationship("Referral", back_populates="consultation", order_by="Referral.id")
    emergency = relationship("Emergency", uselist=False, back_populates="consultation")

    @property
    def topics(self) -> list[str]:
        return [row.topic for row in self.topic_rows]


class ConsultationTopic(OfConsultation, db.Model):
    """Topics as rows, so reports can count them with GROUP BY."""

    __tablename__ = "consultation_topics"
    __table_args__ = (UniqueConstraint("consultation_id", "topic"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    consultation_id: Mapped[int] = mapped_column(ForeignKey("consultations.id"))
    topic: Mapped[str] = mapped_column(String(50), index=True)
    position: Mapped[int] = mapped_column(default=0)


class RoutingDecision(OfConsultation, db.Model):
    __tablename__ = "routing_decisions"

    id: Mapped[int] = mapped_column(primary_key=True)
    consultation_id: Mapped[int] = mapped_column(ForeignKey("consultations.id"), index=True)
    partner_code: Mapped[str] = mapped_column(String(50))
    rule_id: Mapped[str] = mapped_column(String(100))
    ruleset_version: Mapped[int | None]
    reason: Mapped[str] = mapped_column(Text)
    action: Mapped[str] = mapped_column(String(10))
    method: Mapped[str] = mapped_column(String(20))
    urgency: Mapped[str | None] = mapped_column(String(20))
    legal_basis: Mapped[str | None] = mapped_column(String(50))
    matched: Mapped[list] = mapped_column(JSONType, default=list)
    also: Mapped[list] = mapped_column(JSONType, default=list)

    consultation = relationship(Consultation, back_populates="decisions")


class Emergency(OfCase, db.Model):
    """緊急対応: a consultation whose routing found danger to life or body (the protocol).

    ``dangers`` names each emergency rule that fired with the words it found; kept apart from
    the consultation so the record of what set the protocol off is never edited with it.
    """

    __tablename__ = "emergencies"

    id: Mapped[int] = mapped_column(primary_key=True)
    consultation_id: Mapped[int] = mapped_column(ForeignKey("consultations.id"), unique=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    dangers: Mapped[list] = mapped_column(JSONType, default=list)
    words: Mapped[list] = mapped_column(JSONType, default=list)
    alert_id: Mapped[int | None] = mapped_column(ForeignKey("staff_alerts.id"))
    action_due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    detected_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    consultation = relationship(Consultation, back_populates="emergency")
