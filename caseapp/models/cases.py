"""支援ケース: a client's consultations under one owner with one next step."""

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from caseapp.extensions import db
from caseapp.models.belonging import Municipal
from caseapp.models.types import UTCDateTime, utcnow


class Case(Municipal, db.Model):
    """支援ケース: a person's consultations under one owner with one next step."""

    __tablename__ = "cases"
    __table_args__ = (Index("ix_cases_status_next_action_at", "status", "next_action_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # The municipality the row belongs to: the boundary every query is scoped by.
    municipality_id: Mapped[int | None] = mapped_column(ForeignKey("areas.id"), index=True)
    client_id: Mapped[int | None] = mapped_column(ForeignKey("clients.id"), index=True)
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    status: Mapped[str] = mapped_column(String(20), default="open")
    next_action: Mapped[str | None] = mapped_column(Text)
    next_action_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    household_id: Mapped[int | None] = mapped_column(ForeignKey("households.id"), index=True)

    client = relationship("Client", back_populates="cases")
    owner = relationship("User")
    consultations = relationship("Consultation", back_populates="case",
                                 order_by="Consultation.id")
    referrals = relationship("Referral", back_populates="case", order_by="Referral.id")
    transfers = relationship("CaseTransfer", order_by="CaseTransfer.id", viewonly=True)
    emergencies = relationship("Emergency", order_by="Emergency.id", viewonly=True)

    @property
    def emergency(self):
        """The latest emergency while the case is open: what staff must see first."""
        return self.emergencies[-1] if self.status == "open" and self.emergencies else None
