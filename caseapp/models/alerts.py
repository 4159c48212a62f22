"""Staff alerts: what a person must act on."""

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from caseapp.extensions import db
from caseapp.models.types import UTCDateTime, utcnow


class StaffAlert(db.Model):
    """Something a person must act on: a failed referral, a partner endpoint that went away.

    Addressed to one user (the case owner) or to everyone with a role (admins). The row is the
    alert; an e-mail, when SMTP is configured, is only a courtesy copy.
    """

    __tablename__ = "staff_alerts"
    __table_args__ = (Index("ix_staff_alerts_recipient", "user_id", "role", "read_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(50))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    role: Mapped[str | None] = mapped_column(String(20))
    referral_id: Mapped[int | None] = mapped_column(ForeignKey("referrals.id"))
    partner_id: Mapped[int | None] = mapped_column(ForeignKey("partners.id"))
    message: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    read_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # "none" (no SMTP or no address), "pending", "sent", "failed".
    mail_state: Mapped[str] = mapped_column(String(20), default="none")

    partner = relationship("Partner")
