"""The legal bases for sharing a client's data: consents and support meetings (支援会議)."""

from datetime import date, datetime

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from caseapp.extensions import db
from caseapp.models.belonging import OfCase, OfClient
from caseapp.models.types import JSONType, UTCDateTime, utcnow


class Consent(OfClient, db.Model):
    """情報共有の同意: what may be shared with whom, and since when."""

    __tablename__ = "consents"

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"), index=True)
    scope: Mapped[str] = mapped_column(String(20))
    partners: Mapped[list] = mapped_column(JSONType, default=list)
    purposes: Mapped[list] = mapped_column(JSONType, default=list)
    covers_sensitive: Mapped[bool] = mapped_column(default=False)
    method: Mapped[str] = mapped_column(String(20))
    given_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    withdrawn_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    client = relationship("Client", back_populates="consents")

    def in_force(self, at: datetime) -> bool:
        if self.withdrawn_at is not None and self.withdrawn_at <= at:
            return False
        return not (self.given_at > at or (self.expires_at is not None and self.expires_at <= at))

    def names(self, partner_code: str) -> bool:
        return self.scope == "network" or partner_code in (self.partners or [])

    def covers(self, partner_code: str, at: datetime) -> bool:
        return self.in_force(at) and self.names(partner_code)


class SupportMeeting(OfCase, db.Model):
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
