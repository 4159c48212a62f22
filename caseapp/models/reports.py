from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from caseapp.extensions import db
from caseapp.models.types import JSONType, UTCDateTime


class ReportMonthRollup(db.Model):
    """The monthly report's figures for one closed month (Asia/Tokyo) of one municipality, or
    of all of them together (``municipality_id`` NULL, what unscoped work reads).

    Two parts, each with its own sequence pair: the consultation figures (``figures``) and the
    referral figures of the referrals made that month (``referral_figures``). Database triggers
    (migration 0020) add one to a part's dirty sequence in the same transaction as any write
    that changes it (a back-dated consultation, a referral's step, a client's district, a
    handover to another municipality). A part answers for its month only while its built
    sequence equals its dirty one; otherwise the report reads the base tables and beat
    rebuilds it.
    """

    __tablename__ = "report_month_rollups"
    __table_args__ = (
        UniqueConstraint("month", "municipality_id"),
        # NULLs are distinct in a unique constraint: one all-municipalities row per month.
        Index("ix_report_month_rollups_all", "month", unique=True,
              sqlite_where=text("municipality_id IS NULL"),
              postgresql_where=text("municipality_id IS NULL")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    municipality_id: Mapped[int | None] = mapped_column(ForeignKey("areas.id"))
    month: Mapped[str] = mapped_column(String(7))  # YYYY-MM
    figures: Mapped[dict | None] = mapped_column(JSONType)
    dirty_seq: Mapped[int] = mapped_column(default=1)
    built_seq: Mapped[int] = mapped_column(default=0)
    built_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    referral_figures: Mapped[dict | None] = mapped_column(JSONType)
    referral_dirty_seq: Mapped[int] = mapped_column(default=1)
    referral_built_seq: Mapped[int] = mapped_column(default=0)
