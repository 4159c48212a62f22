from datetime import date, datetime

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from caseapp.extensions import db
from caseapp.models.types import JSONType, UTCDateTime, utcnow


class Disclosure(db.Model):
    """第三者提供の記録 (個人情報保護法 §29): who gave what to whom, on which basis.

    Written in the same transaction that marks a delivery delivered, so no send is recorded
    without its disclosure and no disclosure without its send.
    """

    __tablename__ = "disclosures"
    __table_args__ = (Index("ix_disclosures_client_id_at", "client_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    referral_id: Mapped[int] = mapped_column(ForeignKey("referrals.id"), index=True)
    delivery_id: Mapped[int | None] = mapped_column(ForeignKey("deliveries.id"))
    client_id: Mapped[int | None] = mapped_column(ForeignKey("clients.id"))
    partner_id: Mapped[int] = mapped_column(ForeignKey("partners.id"))
    channel: Mapped[str] = mapped_column(String(20))
    # Who disclosed: the staff member who made the referral (the worker only carries it).
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    actor_label: Mapped[str] = mapped_column(String(100))
    fields: Mapped[list] = mapped_column(JSONType, default=list)
    basis: Mapped[str] = mapped_column(String(100))

    partner = relationship("Partner")


class SupportMeeting(db.Model):
    """支援会議: a supervisor-recorded legal basis for sharing among the meeting's members.

    生活困窮者自立支援法 §9 and 社会福祉法 §106-6 let the members of a constituted support meeting
    share what they need about a person, under a duty of confidentiality, without consent.
    """

    __tablename__ = "support_meetings"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    law: Mapped[str] = mapped_column(String(50))
    meeting_date: Mapped[date]
    partners: Mapped[list] = mapped_column(JSONType, default=list)
    note: Mapped[str | None] = mapped_column(Text)
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    def covers(self, partner_code: str) -> bool:
        return partner_code in (self.partners or [])


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
