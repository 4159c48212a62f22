"""Passwords and console sessions, for staff and partner users alike.

Passwords are hashed with argon2id (argon2-cffi's defaults, RFC 9106's low-memory profile).
A console session is a row: sign-out, revocation and the idle timeout end it on the server,
so a copied cookie is worth nothing afterwards.
"""

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select, update
from sqlalchemy.orm import Session, joinedload

from caseapp.models import Partner, User, WebSession
from caseapp.models.types import utcnow
from caseapp.permissions import ROLES
from caseapp.services.core import audit, scope
from caseapp.services.core.actors import SYSTEM, Actor
from caseapp.services.core.errors import DomainError, Invalid, NotFound

MIN_PASSWORD = 12
MAX_PASSWORD = 256
# last_seen_at is written at most this often, so page loads do not all become writes; the idle
# timeout can then strike up to this much early, never late.
_TOUCH_EVERY = timedelta(seconds=60)

_hasher = PasswordHasher()
# Checked when the name is unknown, so a wrong name costs as long as a wrong password.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


class SignInFailed(DomainError):
    status = 401
    title = "Unauthorized"


@dataclass(frozen=True)
class SignedIn:
    user_id: int
    name: str
    role: str
    partner_id: int | None
    token: str
    municipality_id: int | None = None
    # A 仮パスワード: every page but the password change is closed until a new one is chosen.
    must_change_password: bool = False

    def actor(self, source_ip: str | None = None) -> Actor:
        return Actor(user_id=self.user_id, name=self.name, role=self.role,
                     partner_id=self.partner_id, source_ip=source_ip,
                     municipality_id=self.municipality_id)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def check_password_rules(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise Invalid(f"パスワードは {MIN_PASSWORD} 文字以上にしてください"
                      f"（at least {MIN_PASSWORD} characters）",
                      errors={"password": [f"{MIN_PASSWORD} 文字以上にしてください"]})
    if len(password) > MAX_PASSWORD:
        raise Invalid(f"パスワードは {MAX_PASSWORD} 文字以内にしてください",
                      errors={"password": [f"{MAX_PASSWORD} 文字以内にしてください"]})


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def set_password(session: Session, name: str, password: str, actor: Actor = SYSTEM) -> User:
    """Set or replace a user's password; the user's open console sessions end with it."""
    user = session.scalar(select(User).where(User.name == name))
    if user is None:
        raise NotFound(f"利用者 {name!r} はいません（no user named {name!r}）")
    check_password_rules(password)
    user.password_hash = _hasher.hash(password)
    end_sessions(session, user.id)
    audit.record(session, actor, "set_password", "user", user.id)
    session.commit()
    return user


def change_own_password(session: Session, signed: SignedIn, current: str, new: str,
                        source_ip: str | None = None) -> None:
    """A signed-in user replaces their own password, proving the current one; their other
    console sessions end, this one goes on."""
    user = session.get(User, signed.user_id)
    if user is None or user.password_hash is None:
        raise NotFound(f"利用者 {signed.user_id} はいません（no user {signed.user_id}）")
    try:
        _hasher.verify(user.password_hash, current)
    except (VerificationError, InvalidHashError):
        audit.record(session, signed.actor(source_ip), "change_password", "user", user.id,
                     outcome="denied", detail={"reason": "bad_credentials"})
        session.commit()
        raise Invalid("今のパスワードが違います（the current password is wrong）",
                      errors={"current": ["今のパスワードが違います"]}) from None
    check_password_rules(new)
    if new == current:
        raise Invalid("今と違うパスワードにしてください（choose a different password）",
                      errors={"password": ["今と違うパスワードにしてください"]})
    user.password_hash = _hasher.hash(new)
    user.password_temporary = False
    session.execute(update(WebSession)
                    .where(WebSession.user_id == user.id, WebSession.ended_at.is_(None),
                           WebSession.token_hash != _digest(signed.token))
                    .values(ended_at=utcnow()))
    audit.record(session, signed.actor(source_ip), "change_password", "user", user.id)
    session.commit()


def create_partner_user(session: Session, code: str, name: str, password: str,
                        actor: Actor = SYSTEM) -> User:
    """A person at a partner body who signs in to its inbox; a partner may have several."""
    partner = session.scalar(select(Partner).where(Partner.code == code))
    if partner is None:
        raise NotFound(f"連携先コード {code!r} はありません（no partner with code {code!r}）")
    if session.scalar(select(User).where(User.name == name)):
        raise Invalid(f"利用者名 {name!r} は既に使われています（user {name!r} exists already）",
                      errors={"name": ["既に使われています"]})
    check_password_rules(password)
    user = User(name=name, role="partner", partner=partner,
                password_hash=_hasher.hash(password))
    session.add(user)
    session.flush()
    audit.record(session, actor, "create_user", "user", user.id,
                 detail={"role": "partner", "partner": code})
    session.commit()
    return user


def sign_in(session: Session, name: str, password: str,
            source_ip: str | None = None) -> SignedIn:
    """Check a name and password and open a console session; every attempt is audited."""
    user = session.scalar(select(User).where(User.name == name))
    stored = user.password_hash if user is not None else None
    try:
        _hasher.verify(stored or _DUMMY_HASH, password)
        good = stored is not None
    except (VerificationError, InvalidHashError):
        good = False
    if not good or not user.active or user.role not in ROLES:
        who = Actor(user_id=user.id if user else None, name=user.name if user else "anonymous",
                    role=user.role if user else "none", source_ip=source_ip)
        # The typed name is not kept: it may be a password typed in the wrong field.
        audit.record(session, who, "sign_in", "user", user.id if user else None,
                     outcome="denied",
                     detail={"reason": "unknown_user" if user is None else "bad_credentials"})
        session.commit()
        raise SignInFailed("利用者名またはパスワードが違います（wrong user name or password）")
    if _hasher.check_needs_rehash(stored):
        user.password_hash = _hasher.hash(password)
    token = secrets.token_urlsafe(32)
    session.add(WebSession(user_id=user.id, token_hash=_digest(token)))
    signed = SignedIn(user.id, user.name, user.role, user.partner_id, token,
                      user.municipality_id, user.password_temporary)
    audit.record(session, signed.actor(source_ip), "sign_in", "user", user.id)
    session.commit()
    return signed


def resume(session: Session, token: str, idle: timedelta,
           source_ip: str | None = None) -> SignedIn | None:
    """The user of a live console session, or None when it ended, idled out or was revoked."""
    # Read past the scope: a prefecture user's own row lies outside the towns it counts.
    row = session.scalar(select(WebSession).options(joinedload(WebSession.user))
                         .where(WebSession.token_hash == _digest(token),
                                WebSession.ended_at.is_(None))
                         .execution_options(**{scope.UNSCOPED: True}))
    if row is None:
        return None
    user = row.user
    now = utcnow()
    signed = SignedIn(user.id, user.name, user.role, user.partner_id, token,
                      user.municipality_id, user.password_temporary)
    if now - row.last_seen_at > idle:
        row.ended_at = now
        audit.record(session, signed.actor(source_ip), "sign_out", "user", user.id,
                     detail={"reason": "idle"})
        session.commit()
        return None
    if not user.active or user.role not in ROLES or user.password_hash is None:
        row.ended_at = now
        session.commit()
        return None
    if now - row.last_seen_at > _TOUCH_EVERY:
        row.last_seen_at = now
        session.commit()
    return signed


def sign_out(session: Session, token: str, source_ip: str | None = None) -> None:
    # Read past the scope: a prefecture user's own row lies outside the towns it counts.
    row = session.scalar(select(WebSession).options(joinedload(WebSession.user))
                         .where(WebSession.token_hash == _digest(token),
                                WebSession.ended_at.is_(None))
                         .execution_options(**{scope.UNSCOPED: True}))
    if row is None:
        return
    row.ended_at = utcnow()
    user = row.user
    actor = Actor(user_id=user.id, name=user.name, role=user.role,
                  partner_id=user.partner_id, source_ip=source_ip)
    audit.record(session, actor, "sign_out", "user", user.id)
    session.commit()


def end_sessions(session: Session, user_id: int) -> int:
    """End every open console session of a user in the caller's transaction."""
    result = session.execute(update(WebSession)
                             .where(WebSession.user_id == user_id, WebSession.ended_at.is_(None))
                             .values(ended_at=utcnow()))
    return result.rowcount
