from datetime import datetime

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

from caseapp.extensions import db
from caseapp.models.types import UTCDateTime, utcnow


class Partner(db.Model):
    """A body of the network, shaped after Open Referral HSDS organization + service area."""

    __tablename__ = "partners"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(50), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(50))
    description: Mapped[str] = mapped_column(Text, default="")
    service_area: Mapped[str] = mapped_column(String(200), default="")
    email: Mapped[str | None] = mapped_column(String(254))
    webhook_url: Mapped[str | None] = mapped_column(String(2000))
    webhook_secret: Mapped[str | None] = mapped_column(String(200))
    ack_sla_days: Mapped[int] = mapped_column(default=3)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    def channels(self) -> list[str]:
        """Every partner has the inbox; webhook and e-mail are added when configured."""
        found = ["inbox"]
        if self.webhook_url:
            found.append("webhook")
        if self.email:
            found.append("email")
        return found
