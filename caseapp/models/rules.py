from datetime import datetime

from sqlalchemy import ForeignKey
from sqlalchemy.orm import Mapped, mapped_column

from caseapp.extensions import db
from caseapp.models.types import JSONType, UTCDateTime, utcnow


class RuleSetVersion(db.Model):
    """Every adopted rule set is kept, so a stored decision can always be explained."""

    __tablename__ = "rule_sets"

    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[int] = mapped_column(unique=True)
    source: Mapped[dict] = mapped_column(JSONType)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
