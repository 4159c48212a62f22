"""The person's rights over their data (個人情報保護法 §33–35)."""

from datetime import datetime

from sqlalchemy import ForeignKey, Text
from sqlalchemy.orm import Mapped, backref, mapped_column, relationship

from caseapp.extensions import db
from caseapp.models.belonging import OfClient
from caseapp.models.types import UTCDateTime, utcnow


class UseStop(OfClient, db.Model):
    """利用停止 (§35): one stop of the use of a person's data, and its lifting.

    A row without ``lifted_at`` is a stop in force. Kept as rows on the client's id (rather
    than a flag on the client) so that a 名寄せ merge, which re-points every reference to the
    survivor, carries a stop over to it.
    """

    __tablename__ = "use_stops"

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"), index=True)
    stopped_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    stopped_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    reason: Mapped[str] = mapped_column(Text)
    lifted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    lifted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    lift_reason: Mapped[str | None] = mapped_column(Text)

    client = relationship("Client", backref=backref("use_stops", order_by="UseStop.id"))

