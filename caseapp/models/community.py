"""The community layer: areas, community members, watch lists, meetings and activity plans."""

from datetime import date, datetime

from sqlalchemy import BigInteger, Date, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from caseapp.extensions import db
from caseapp.models.belonging import InArea, OfClient
from caseapp.models.types import JSONType, UTCDateTime, utcnow


class Area(db.Model):
    """One node of the tree 県 → ブロック → 市町村 → 地区 → 小地域.

    Municipalities carry their national local-government code; the rest carry codes of the
    municipality's own making (``394106-S01``). Visit interval and meeting schedule are set where
    they apply and read up the tree.
    """

    __tablename__ = "areas"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    level: Mapped[str] = mapped_column(String(20))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("areas.id"), index=True)
    # The place the area's work is run from, e.g. an あったかふれあいセンター.
    hub: Mapped[str | None] = mapped_column(String(100))
    visit_interval_days: Mapped[int | None]
    meetings_per_year: Mapped[int | None]
    # use_alter: users point at their municipality, so the two tables refer to each other.
    coordinator_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", use_alter=True))
    # When the next meeting is owed (business morning after its due day); None: no schedule.
    meeting_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    parent = relationship("Area", remote_side=[id])
    address_keys = relationship("AreaAddressKey", cascade="all, delete-orphan",
                                order_by="AreaAddressKey.key")


class AreaTreeVersion(db.Model):
    """One row whose value changes (triggers on ``areas``) whenever the tree's shape does.

    A process keeps the tree it read and compares this value, read in the same round trip as
    the transaction's scope, instead of reading the whole tree per request. The value is
    random, not a counter: a rolled-back change or emptied tables cannot bring back a value
    some process has cached another tree under.
    """

    __tablename__ = "area_tree_version"

    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[int] = mapped_column(BigInteger)


class AreaAddressKey(db.Model):
    """An address key (町名・大字・字) that falls in a 地区 or 小地域."""

    __tablename__ = "area_address_keys"
    __table_args__ = (UniqueConstraint("area_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    area_id: Mapped[int] = mapped_column(ForeignKey("areas.id"))
    key: Mapped[str] = mapped_column(String(100), index=True)


class Member(InArea, db.Model):
    """A community member (民生委員, 福祉委員, …): not staff; one 小地域, for a term.

    Signs in as a ``users`` row of role ``member``, so tokens and sessions work as for staff.
    """

    __tablename__ = "community_members"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    role: Mapped[str] = mapped_column(String(20))
    area_id: Mapped[int] = mapped_column(ForeignKey("areas.id"), index=True)
    term_from: Mapped[date] = mapped_column(Date)
    term_to: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    area = relationship(Area)
    user = relationship("User")


class WatchEntry(OfClient, db.Model):
    """A person on an area's watch list (見守り), with the basis that lets neighbours know."""

    __tablename__ = "watch_entries"

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"), index=True)
    area_id: Mapped[int] = mapped_column(ForeignKey("areas.id"), index=True)
    watch_for: Mapped[str] = mapped_column(Text)
    basis: Mapped[str] = mapped_column(String(30))
    # Member roles the basis lets see the person, and what else the basis rests on
    # (consent: method and time; register: the provision and its date).
    basis_scope: Mapped[list] = mapped_column(JSONType, default=list)
    basis_detail: Mapped[dict] = mapped_column(JSONType, default=dict)
    watchers: Mapped[list] = mapped_column(JSONType, default=list)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    end_reason: Mapped[str | None] = mapped_column(String(30))
    last_visit_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_visit_status: Mapped[str | None] = mapped_column(String(30))
    # The business morning by which the next visit is owed; None once the watch has ended.
    visit_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    client = relationship("Client")
    area = relationship(Area)
    visits = relationship("WatchVisit", order_by="WatchVisit.visited_at",
                          back_populates="entry")


class WatchVisit(db.Model):
    __tablename__ = "watch_visits"

    id: Mapped[int] = mapped_column(primary_key=True)
    watch_id: Mapped[int] = mapped_column(ForeignKey("watch_entries.id"), index=True)
    visited_at: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(30))
    note: Mapped[str] = mapped_column(Text, default="")
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    entry = relationship(WatchEntry, back_populates="visits")


class Meeting(InArea, db.Model):
    """A 小地域ケア会議 or one of Hidaka's two 小地域ネットワーク会議 of a day."""

    __tablename__ = "community_meetings"
    __table_args__ = (Index("ix_community_meetings_area_id_held_on", "area_id", "held_on"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(30))
    area_id: Mapped[int] = mapped_column(ForeignKey("areas.id"))
    held_on: Mapped[date] = mapped_column(Date)
    # [{"name", "role", "member_id"}]: members by id, others (社協, 役場) by name and role.
    attendees: Mapped[list] = mapped_column(JSONType, default=list)
    note: Mapped[str] = mapped_column(Text, default="")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    area = relationship(Area)
    reviews = relationship("MeetingReview", order_by="MeetingReview.id")
    evaluations = relationship("PlanEvaluation", order_by="PlanEvaluation.id")


class MeetingReview(db.Model):
    """How a watched person is, as the meeting found; a need found went to the counter."""

    __tablename__ = "meeting_reviews"
    __table_args__ = (UniqueConstraint("meeting_id", "watch_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("community_meetings.id"))
    watch_id: Mapped[int] = mapped_column(ForeignKey("watch_entries.id"), index=True)
    status: Mapped[str] = mapped_column(String(30))
    note: Mapped[str] = mapped_column(Text, default="")
    consultation_id: Mapped[int | None] = mapped_column(ForeignKey("consultations.id"))
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    entry = relationship(WatchEntry)
    consultation = relationship("Consultation")


class PlanItem(InArea, db.Model):
    """One line of an area's 地域福祉活動計画 実施計画."""

    __tablename__ = "plan_items"

    id: Mapped[int] = mapped_column(primary_key=True)
    area_id: Mapped[int] = mapped_column(ForeignKey("areas.id"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    target: Mapped[str] = mapped_column(Text, default="")
    owner: Mapped[str] = mapped_column(String(100), default="")
    fiscal_year: Mapped[int | None]
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    evaluations = relationship("PlanEvaluation", order_by="PlanEvaluation.id",
                               back_populates="item")


class PlanEvaluation(db.Model):
    __tablename__ = "plan_evaluations"
    __table_args__ = (UniqueConstraint("item_id", "meeting_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("plan_items.id"))
    meeting_id: Mapped[int] = mapped_column(ForeignKey("community_meetings.id"), index=True)
    rating: Mapped[str] = mapped_column(String(20))
    note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    item = relationship(PlanItem, back_populates="evaluations")
    meeting = relationship(Meeting, viewonly=True)


class CommunityTask(InArea, db.Model):
    """A next action in the coordinator's queue; ``dedup_key`` makes each arise once."""

    __tablename__ = "community_tasks"
    __table_args__ = (Index("ix_community_tasks_status_due_at", "status", "due_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(30))
    status: Mapped[str] = mapped_column(String(20))
    dedup_key: Mapped[str] = mapped_column(String(200), unique=True)
    area_id: Mapped[int] = mapped_column(ForeignKey("areas.id"), index=True)
    watch_id: Mapped[int | None] = mapped_column(ForeignKey("watch_entries.id"), index=True)
    visit_id: Mapped[int | None] = mapped_column(ForeignKey("watch_visits.id"))
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    opened_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    close_note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    area = relationship(Area)


class WatchDisclosure(OfClient, db.Model):
    """A watched person's details put before a meeting (the printed sheet): to whom, on what."""

    __tablename__ = "watch_disclosures"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("community_meetings.id"), index=True)
    watch_id: Mapped[int] = mapped_column(ForeignKey("watch_entries.id"))
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"), index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    actor_label: Mapped[str] = mapped_column(String(100))
    recipients: Mapped[list] = mapped_column(JSONType, default=list)
    fields: Mapped[list] = mapped_column(JSONType, default=list)
    basis: Mapped[str] = mapped_column(String(30))
