from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from caseapp.extensions import db
from caseapp.models.belonging import OfReferral
from caseapp.models.types import JSONType, UTCDateTime, utcnow


class Disclosure(OfReferral, db.Model):
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
