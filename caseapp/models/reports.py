from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from caseapp.extensions import db
from caseapp.models.types import JSONType, UTCDateTime


class ReportMonthRollup(db.Model):
    """The monthly report's consultation figures for one closed month (Asia/Tokyo).

    Database triggers (migration 0014) add one to ``dirty_seq`` in the same transaction as any
    write that changes the month's figures (a back-dated consultation, a consultation moved or
    deleted, a client's district changed). The row answers for its month only while
    ``built_seq == dirty_seq``; otherwise the report reads the base tables and beat rebuilds it.
    """

    __tablename__ = "report_month_rollups"

    month: Mapped[str] = mapped_column(String(7), primary_key=True)  # YYYY-MM
    figures: Mapped[dict | None] = mapped_column(JSONType)
    dirty_seq: Mapped[int] = mapped_column(default=1)
    built_seq: Mapped[int] = mapped_column(default=0)
    built_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
