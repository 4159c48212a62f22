"""移管: a case handed to another municipality on the platform when the person moves home."""

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from caseapp.extensions import db
from caseapp.models.types import UTCDateTime, utcnow


class CaseTransfer(db.Model):
    """The handover itself, seen by both municipalities: ids and places, nothing personal."""

    __tablename__ = "case_transfers"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    client_id: Mapped[int | None] = mapped_column(ForeignKey("clients.id"))
    from_municipality_id: Mapped[int] = mapped_column(ForeignKey("areas.id"), index=True)
    to_municipality_id: Mapped[int] = mapped_column(ForeignKey("areas.id"), index=True)
    # Code and name as at the handover: each side may not see the other's area rows.
    from_code: Mapped[str] = mapped_column(String(40))
    from_name: Mapped[str] = mapped_column(String(100))
    to_code: Mapped[str] = mapped_column(String(40))
    to_name: Mapped[str] = mapped_column(String(100))
    # The person's consent to the handover: how and when it was given.
    consent_method: Mapped[str] = mapped_column(String(20))
    consent_given_at: Mapped[datetime] = mapped_column(UTCDateTime)
    note: Mapped[str] = mapped_column(Text, default="")
    by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    by_label: Mapped[str] = mapped_column(String(100))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
