from datetime import datetime

from sqlalchemy import ForeignKey, String, Text
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
    # The layer the partner belongs to: a municipality, a block (福祉保健所) or the prefecture;
    # it serves every municipality under that area.
    area_id: Mapped[int | None] = mapped_column(ForeignKey("areas.id"),
                                                index=True)
    description: Mapped[str] = mapped_column(Text, default="")
    service_area: Mapped[str] = mapped_column(String(200), default="")
    email: Mapped[str | None] = mapped_column(String(254))
    webhook_url: Mapped[str | None] = mapped_column(String(2000))
    webhook_secret: Mapped[str | None] = mapped_column(String(200))
    # Set when the endpoint answered 410 Gone; a new webhook_url clears it.
    webhook_disabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ack_sla_days: Mapped[int] = mapped_column(default=3)
    # prefecture, block (a 福祉保健所's area), municipality, district or neighbourhood.
    layer: Mapped[str] = mapped_column(String(20), default="municipality",
                                       server_default="municipality")
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    @property
    def webhook_active(self) -> bool:
        return bool(self.webhook_url and self.webhook_secret and self.webhook_disabled_at is None)

    def channels(self, *, email_enabled: bool = True) -> list[str]:
        """The channels that push a referral to the partner; "inbox" alone when there are none.

        Every referral can be read in the partner inbox anyway. The inbox counts as the delivery
        only for an inbox-only partner, so a webhook that keeps failing fails the referral
        instead of hiding behind the inbox.
        """
        found = []
        if self.webhook_active:
            found.append("webhook")
        if self.email and email_enabled:
            found.append("email")
        return found or ["inbox"]
