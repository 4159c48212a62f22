"""Consultation events (相談会) and their on-the-spot teams: which partners, what outcome."""

from datetime import date, datetime

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, backref, mapped_column, relationship

from caseapp.domain.vocab import TeamOutcome, values
from caseapp.extensions import db
from caseapp.models.belonging import Municipal, OfConsultation
from caseapp.models.types import JSONType, UTCDateTime, utcnow

TEAM_OUTCOMES = values(TeamOutcome)


class Event(Municipal, db.Model):
    """相談会, e.g. the night session 夜間相談会."""

    __tablename__ = "events"

    id: Mapped[int] = mapped_column(primary_key=True)
    # The municipality the row belongs to: the boundary every query is scoped by.
    municipality_id: Mapped[int | None] = mapped_column(ForeignKey("areas.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    date: Mapped[date]
    starts_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    venue: Mapped[str | None] = mapped_column(String(200))
    partners: Mapped[list] = mapped_column(JSONType, default=list)
    # {partner code: ["弁護士 1名", ...]}: who each partner sent; partners stays a list of codes.
    specialists: Mapped[dict] = mapped_column(JSONType, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ConsultationTeam(OfConsultation, db.Model):
    """One team record per consultation; re-posting replaces it (the audit log keeps the old)."""

    __tablename__ = "consultation_teams"

    id: Mapped[int] = mapped_column(primary_key=True)
    consultation_id: Mapped[int] = mapped_column(ForeignKey("consultations.id"), unique=True)
    outcome: Mapped[str] = mapped_column(String(20), index=True)
    note: Mapped[str] = mapped_column(Text, default="")
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    consultation = relationship("Consultation",
                                backref=backref("team", uselist=False, lazy="select"))
    members = relationship("ConsultationTeamPartner", cascade="all, delete-orphan",
                           order_by="ConsultationTeamPartner.position")

    @property
    def partners(self) -> list[str]:
        return [m.partner.code for m in self.members]


class ConsultationTeamPartner(db.Model):
    """Team partners as rows, so the after-event report counts them with GROUP BY."""

    __tablename__ = "consultation_team_partners"
    __table_args__ = (UniqueConstraint("team_id", "partner_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("consultation_teams.id"), index=True)
    partner_id: Mapped[int] = mapped_column(ForeignKey("partners.id"), index=True)
    position: Mapped[int] = mapped_column(default=0)

    partner = relationship("Partner")
