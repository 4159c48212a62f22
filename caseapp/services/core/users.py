"""Managing people who sign in (staff and partner users): what an administrator does on screen.

Creating, resetting a password and revoking each end in one commit with their audit row. A
password the administrator does not type is generated here and shown once (仮パスワード):
only its argon2 hash is kept. Either way the password is temporary: its user must choose their
own at the next sign-in. Revoking ends every API token and console session at once and
stops sign-in until the user is reinstated with a new password.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, joinedload

from caseapp.domain.community import AreaLevel
from caseapp.models import ApiToken, Area, Partner, User
from caseapp.models.types import utcnow
from caseapp.permissions import ROLES
from caseapp.services.core import audit, signin
from caseapp.services.core.actors import Actor
from caseapp.services.core.errors import Conflict, Invalid, NotFound

NAME_MAX = 100


@dataclass(frozen=True)
class UserRow:
    id: int
    name: str
    role: str
    partner_code: str | None
    partner_name: str | None
    email: str | None
    active: bool
    has_password: bool
    live_tokens: int
    created_at: datetime
    area_name: str | None = None
    area_code: str | None = None


@dataclass(frozen=True)
class UserWritten:
    """A user as saved; ``shown_password`` is a generated password, shown this once."""

    user: User
    shown_password: str | None


def listing(session: Session) -> list[UserRow]:
    live = dict(session.execute(select(ApiToken.user_id, func.count())
                                .where(ApiToken.revoked_at.is_(None))
                                .group_by(ApiToken.user_id)).all())
    users = session.scalars(select(User).options(joinedload(User.partner), joinedload(User.area))
                            .order_by(User.role, User.name))
    return [UserRow(u.id, u.name, u.role, u.partner.code if u.partner else None,
                    u.partner.name if u.partner else None, u.email, u.active,
                    u.password_hash is not None, live.get(u.id, 0), u.created_at,
                    u.area.name if u.area else None, u.area.code if u.area else None)
            for u in users]


HOME_ROLES = ("counter", "supervisor", "admin")


def home_areas(session: Session) -> list[Area]:
    """The 地区 and 小地域 a staff user of this municipality may work at, in code order."""
    return list(session.scalars(select(Area).where(
        Area.level.in_((AreaLevel.DISTRICT, AreaLevel.SMALL_AREA))).order_by(Area.code)))


def home_area(session: Session, code: str, role: str, municipality_id: int | None) -> Area:
    """The 地区 or 小地域 of the user's own municipality whose center a staff user works at."""
    area = session.scalar(select(Area).where(Area.code == code))
    if role not in HOME_ROLES:
        message = "地区を持てるのは職員（窓口・監督・管理）だけです"
    elif (area is None or area.level not in (AreaLevel.DISTRICT, AreaLevel.SMALL_AREA)
          or _town_of(area) != municipality_id):
        message = "この市町村の地区・小地域のコードではありません"
    else:
        return area
    raise Invalid(f"{message}（area {code!r} cannot be this user's home）",
                  errors={"area": [message]})


def one_time_password() -> str:
    # 18 random bytes read as 24 characters: above the 12-character floor with room to spare.
    return secrets.token_urlsafe(18)


def _town_of(area: Area) -> int | None:
    while area is not None and area.level != AreaLevel.MUNICIPALITY:
        area = area.parent
    return area.id if area is not None else None


def create(session: Session, actor: Actor, *, name: str, role: str,
           partner_code: str | None = None, email: str | None = None,
           password: str | None = None, area_code: str | None = None) -> UserWritten:
    """A staff user with a role, or a partner user bound to one partner; no password given
    means a generated one, shown once."""
    name = (name or "").strip()
    errors: dict[str, list[str]] = {}
    if not name:
        errors["name"] = ["利用者名を入力してください"]
    elif len(name) > NAME_MAX or any(c.isspace() for c in name):
        errors["name"] = [f"空白を含まない {NAME_MAX} 文字以内にしてください"]
    elif session.scalar(select(User.id).where(User.name == name)):
        errors["name"] = ["この利用者名は既に使われています"]
    if role not in ROLES:
        errors["role"] = ["役割を選んでください"]
    partner = None
    if role == "partner":
        if not partner_code:
            errors["partner"] = ["連携先の担当者は、連携先を選んでください"]
        else:
            partner = session.scalar(select(Partner).where(Partner.code == partner_code))
            if partner is None:
                errors["partner"] = ["この連携先はありません"]
    elif partner_code:
        errors["partner"] = ["連携先を選べるのは、役割が「連携先」のときだけです"]
    area = None
    if area_code:
        try:
            area = home_area(session, area_code, role, actor.municipality_id)
        except Invalid as exc:
            errors.update(exc.errors or {})
    shown = None
    if password:
        try:
            signin.check_password_rules(password)
        except Invalid as exc:
            errors.update(exc.errors or {})
    else:
        password = shown = one_time_password()
    if errors:
        raise Invalid("利用者を作れませんでした（user not created）", errors=errors)
    user = User(name=name, role=role, partner=partner, email=(email or "").strip() or None,
                password_hash=signin.hash_password(password), area=area,
                password_temporary=True)
    session.add(user)
    session.flush()
    audit.record(session, actor, "create_user", "user", user.id,
                 detail={"role": role, "partner": partner_code if partner else None,
                         "area": area.code if area else None,
                         "one_time_password": shown is not None})
    session.commit()
    return UserWritten(user, shown)


def get(session: Session, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(f"利用者 {user_id} はいません（no user {user_id}）")
    return user


def by_name(session: Session, name: str) -> User:
    user = session.scalar(select(User).where(User.name == name))
    if user is None:
        raise NotFound(f"利用者 {name!r} はいません（no user named {name!r}）")
    return user


def reset_password(session: Session, actor: Actor, user_id: int,
                   password: str | None = None) -> UserWritten:
    """Set a new password (or a generated one, shown once); the user's sessions end with it."""
    user = get(session, user_id)
    if not user.active:
        raise Conflict("利用を止めた利用者です。先に利用を再開してください",
                       errors={"password": ["利用を止めた利用者です"]})
    shown = None
    if not password:
        password = shown = one_time_password()
    signin.check_password_rules(password)
    user.password_hash = signin.hash_password(password)
    user.password_temporary = True
    signin.end_sessions(session, user.id)
    audit.record(session, actor, "set_password", "user", user.id,
                 detail={"one_time_password": shown is not None})
    session.commit()
    return UserWritten(user, shown)


def set_area(session: Session, actor: Actor, user_id: int, area_code: str | None) -> User:
    """Name (or clear) the 地区 or 小地域 whose center a staff user works at."""
    user = get(session, user_id)
    user.area = (home_area(session, area_code, user.role, user.municipality_id)
                 if area_code else None)
    audit.record(session, actor, "update_user", "user", user.id,
                 detail={"area": user.area.code if user.area else None})
    session.commit()
    return user


def revoke(session: Session, actor: Actor, user_id: int) -> int:
    """Stop a user now, everywhere: tokens revoked, sessions ended, sign-in refused.
    Returns how many live tokens were revoked."""
    user = get(session, user_id)
    if user.id == actor.user_id:
        raise Conflict("自分自身の利用は止められません（you cannot revoke yourself）",
                       errors={"user": ["自分自身の利用は止められません"]})
    if user.role == "admin" and user.active and _other_active_admins(session, user.id) == 0:
        raise Conflict("最後のシステム管理者の利用は止められません（the last admin）",
                       errors={"user": ["最後のシステム管理者の利用は止められません"]})
    tokens = session.execute(update(ApiToken)
                             .where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
                             .values(revoked_at=utcnow())).rowcount
    sessions = signin.end_sessions(session, user.id)
    user.active = False
    audit.record(session, actor, "revoke", "user", user.id,
                 detail={"tokens": tokens, "sessions": sessions})
    session.commit()
    return tokens


def reinstate(session: Session, actor: Actor, user_id: int,
              password: str | None = None) -> UserWritten:
    """Let a revoked user sign in again, with a new password (generated when none is given)."""
    user = get(session, user_id)
    shown = None
    if not password:
        password = shown = one_time_password()
    signin.check_password_rules(password)
    user.active = True
    user.password_hash = signin.hash_password(password)
    user.password_temporary = True
    audit.record(session, actor, "reinstate", "user", user.id,
                 detail={"one_time_password": shown is not None})
    session.commit()
    return UserWritten(user, shown)


def _other_active_admins(session: Session, user_id: int) -> int:
    return session.scalar(select(func.count()).select_from(User).where(
        User.role == "admin", User.active.is_(True), User.id != user_id)) or 0
