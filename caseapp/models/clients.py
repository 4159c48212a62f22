from datetime import date, datetime

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from caseapp.extensions import db
from caseapp.models.belonging import Municipal, OfClient
from caseapp.models.types import UTCDateTime, utcnow


class Client(Municipal, db.Model):
    __tablename__ = "clients"
    __table_args__ = (
        # GIN trigram indexes (PostgreSQL) serve substring search ('%ヤマダ%', '%1234567%')
        # for words of 3+ characters; shorter ones use client_bigrams. On SQLite these
        # declarations are plain (redundant, small) indexes: it searches through the bigrams.
        *(Index(f"ix_clients_{column}_trgm", column, postgresql_using="gin",
                postgresql_ops={column: "gin_trgm_ops"})
          for column in ("search_key", "kana_key", "phone")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # The municipality the row belongs to: the boundary every query is scoped by.
    municipality_id: Mapped[int | None] = mapped_column(ForeignKey("areas.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    name_kana: Mapped[str | None] = mapped_column(String(200))
    search_key: Mapped[str] = mapped_column(String(400), index=True)
    kana_key: Mapped[str | None] = mapped_column(String(400), index=True)
    birth_date: Mapped[date | None]
    sex: Mapped[str | None] = mapped_column(String(10))
    phone: Mapped[str | None] = mapped_column(String(20), index=True)
    postal_code: Mapped[str | None] = mapped_column(String(8))
    address: Mapped[str | None] = mapped_column(Text)
    district: Mapped[str | None] = mapped_column(String(100))
    small_area: Mapped[str | None] = mapped_column(String(100))
    # The 小地域 (or 地区) the address resolves to by the area address keys; None: unresolved.
    area_id: Mapped[int | None] = mapped_column(ForeignKey("areas.id"), index=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    # 名寄せ: a record merged into another keeps its row (history, audit) but points on.
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("clients.id"), index=True)
    merged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Made anonymous after the retention period: identifying fields and free text are gone.
    anonymised_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)

    area = relationship("Area", foreign_keys=[area_id])
    consents = relationship("Consent", back_populates="client", order_by="Consent.id")
    cases = relationship("Case", back_populates="client", order_by="Case.id")
    bigrams = relationship("ClientBigram", cascade="all, delete-orphan", passive_deletes=True)
    membership = relationship("HouseholdMember", back_populates="client", uselist=False)


class ClientBigram(OfClient, db.Model):
    """Search index: each 1- and 2-character piece of a client's name and reading keys.

    pg_trgm cannot serve a two-character kanji query (山田 has no trigram), so a query's
    bigrams are looked up here and intersected; works the same on SQLite and PostgreSQL.
    Single characters are stored too, so a one-character query is served as well.
    """

    __tablename__ = "client_bigrams"

    bigram: Mapped[str] = mapped_column(String(2), primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id", ondelete="CASCADE"),
                                           primary_key=True, index=True)
