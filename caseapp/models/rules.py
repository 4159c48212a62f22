from datetime import datetime

from sqlalchemy import ForeignKey, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from caseapp.extensions import db
from caseapp.models.belonging import Municipal
from caseapp.models.types import JSONType, UTCDateTime, utcnow


class RuleSetVersion(Municipal, db.Model):
    """Every adopted rule set is kept, so a stored decision can always be explained."""

    __tablename__ = "rule_sets"
    # Each municipality numbers its own versions.
    __table_args__ = (UniqueConstraint("municipality_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # The municipality the row belongs to: the boundary every query is scoped by.
    municipality_id: Mapped[int | None] = mapped_column(ForeignKey("areas.id"), index=True)
    version: Mapped[int]
    source: Mapped[dict] = mapped_column(JSONType)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
