from datetime import datetime

from sqlalchemy import ForeignKey, String, Text, orm
from sqlalchemy.orm import Mapped, mapped_column, relationship

from caseapp.extensions import db
from caseapp.models.belonging import Municipal, OfClient
from caseapp.models.types import UTCDateTime, utcnow

#: Relationship to the household, as stable codes with the labels staff see (続柄).
RELATIONSHIPS: dict[str, str] = {
    "head": "世帯主",
    "spouse": "配偶者",
    "child": "子",
    "parent": "親",
    "sibling": "兄弟姉妹",
    "grandchild": "孫",
    "grandparent": "祖父母",
    "other_relative": "その他の親族",
    "other": "同居人・その他",
}


class Household(Municipal, db.Model):
    """世帯: clients living together, so one worry can be seen as the household's."""

    __tablename__ = "households"

    id: Mapped[int] = mapped_column(primary_key=True)
    # The municipality the row belongs to: the boundary every query is scoped by.
    municipality_id: Mapped[int | None] = mapped_column(ForeignKey("areas.id"), index=True)
    name: Mapped[str | None] = mapped_column(String(200))
    address: Mapped[str | None] = mapped_column(Text)
    note: Mapped[str | None] = mapped_column(Text)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    members = relationship("HouseholdMember", back_populates="household",
                           order_by="HouseholdMember.id", cascade="all, delete-orphan")
    cases = relationship("Case", order_by="Case.id", viewonly=True)


class HouseholdMember(OfClient, db.Model):
    """A client's place in a household; a person lives in one household at a time."""

    __tablename__ = "household_members"

    id: Mapped[int] = mapped_column(primary_key=True)
    household_id: Mapped[int] = mapped_column(ForeignKey("households.id"), index=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"), unique=True)
    relationship: Mapped[str] = mapped_column(String(20))
    added_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    added_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    # ``relationship`` is a column here, so the ORM function is reached through ``orm``.
    household = orm.relationship(Household, back_populates="members")
    client = orm.relationship("Client", back_populates="membership")

    @property
    def relationship_label(self) -> str:
        return RELATIONSHIPS.get(self.relationship, self.relationship)
