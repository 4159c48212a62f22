from datetime import datetime

from sqlalchemy import ForeignKey, String, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from caseapp.extensions import db
from caseapp.models.types import UTCDateTime, utcnow


class User(db.Model):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    role: Mapped[str] = mapped_column(String(20))
    # The municipality the row belongs to: the boundary every query is scoped by.
    municipality_id: Mapped[int | None] = mapped_column(ForeignKey("areas.id"),
                                                        index=True)
    # The 地区 (or 小地域) whose center the user works at: its cases come first on their home.
    area_id: Mapped[int | None] = mapped_column(ForeignKey("areas.id"), index=True)
    email: Mapped[str | None] = mapped_column(String(254))
    partner_id: Mapped[int | None] = mapped_column(ForeignKey("partners.id"), index=True)
    active: Mapped[bool] = mapped_column(default=True)
    # argon2id hash for the web console; None: this user signs in with API tokens only.
    password_hash: Mapped[str | None] = mapped_column(String(255))
    # Set by an administrator (a 仮パスワード): the user must choose their own before working.
    password_temporary: Mapped[bool] = mapped_column(default=False, server_default=false())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    partner = relationship("Partner")
    area = relationship("Area", foreign_keys=[area_id])


class ApiToken(db.Model):
    """Only the SHA-256 of a token is stored.

    Tokens are 256 random bits, so a fast hash is enough: there is nothing to brute-force,
    and a slow password hash would cost every request.
    """

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(12))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user = relationship(User)


class WebSession(db.Model):
    """A console sign-in, kept server-side so that sign-out and revocation end it at once.

    The cookie carries a random id; only its SHA-256 is stored, as for API tokens.
    """

    __tablename__ = "web_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user = relationship(User)
