import hashlib
import secrets

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session

from caseapp.models import ApiToken, Partner, User
from caseapp.models.types import utcnow
from caseapp.permissions import ROLES, STAFF_ROLES
from caseapp.services.core import audit, scope, signin, users
from caseapp.services.core.actors import Actor
from caseapp.services.core.attach import attached
from caseapp.services.core.errors import Invalid, NotFound

TOKEN_PREFIX = "cat_"
# A prefecture council's user: reads the prefecture report; its area is the prefecture.
PREFECTURE = "prefecture"


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_token(session: Session, user: User) -> str:
    """Make a token; only its hash is kept, so the caller must show it now or never."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    session.add(ApiToken(user=user, token_hash=_digest(token), prefix=token[:12]))
    return token


def create_user(session: Session, name: str, role: str, email: str | None = None,
                municipality_id: int | None = None,
                area_code: str | None = None) -> tuple[User, str]:
    """A staff user of one municipality (default: the only one there is), optionally working
    at the center of one of its 地区 or 小地域 (``area_code``)."""
    roles = (*STAFF_ROLES, PREFECTURE)
    if role not in roles:
        raise Invalid(f"役割は {', '.join(roles)} のいずれかにしてください"
                      f"（role must be one of {', '.join(roles)}）",
                      errors={"role": ["この役割はありません（unknown role）"]})
    if session.scalar(select(User).where(User.name == name)):
        raise Invalid(f"利用者名 {name} は既に使われています（user {name!r} exists already）",
                      errors={"name": ["この利用者名は既に使われています（already taken）"]})
    if municipality_id is None:
        municipality_id = scope.default_municipality(session)
    area = (users.home_area(session, area_code, role, municipality_id) if area_code else None)
    user = User(name=name, role=role, email=email, municipality_id=municipality_id, area=area)
    session.add(user)
    token = issue_token(session, user)
    session.commit()
    return user, token


def partner_token(session: Session, code: str) -> str:
    partner = session.scalar(select(Partner).where(Partner.code == code))
    if partner is None:
        raise NotFound(f"連携機関コード {code} は登録されていません"
                       f"（no partner with code {code!r}）")
    name = f"partner:{code}"
    user = session.scalar(select(User).where(User.name == name))
    if user is None:
        user = User(name=name, role="partner", partner=partner)
        session.add(user)
    token = issue_token(session, user)
    session.commit()
    return token


def revoke_user(session: Session, name: str) -> int:
    """Revoke every live token and console session of a user at once; returns live tokens."""
    user = session.scalar(select(User).where(User.name == name))
    if user is None:
        raise NotFound(f"利用者 {name} は登録されていません（no user named {name!r}）")
    result = session.execute(update(ApiToken)
                             .where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
                             .values(revoked_at=utcnow()))
    signin.end_sessions(session, user.id)  # the console too: revoking means now, everywhere
    session.commit()
    return result.rowcount


# Every API request starts here: one Core statement, built once, and the user attached from
# the same row.
_TOKENS, _PEOPLE = ApiToken.__table__, User.__table__
_TOKEN = (select(_TOKENS.c.id.label("token_id"), _TOKENS.c.last_used_at, *_PEOPLE.columns)
          .join_from(_TOKENS, _PEOPLE, _TOKENS.c.user_id == _PEOPLE.c.id)
          .where(_TOKENS.c.token_hash == bindparam("digest"), _TOKENS.c.revoked_at.is_(None))
          .execution_options(**{scope.UNSCOPED: True}))


def authenticate(session: Session, token: str) -> User | None:
    if not token.startswith(TOKEN_PREFIX):
        return None
    row = session.execute(_TOKEN, {"digest": _digest(token)}).first()
    if row is None or not row.active or row.role not in ROLES:
        return None
    now = utcnow()
    # Written at most once a minute per token, so reads do not all become writes.
    if row.last_used_at is None or (now - row.last_used_at).total_seconds() > 60:
        session.execute(update(ApiToken).where(ApiToken.id == row.token_id)
                        .values(last_used_at=now))
    return attached(session, User, {c.key: row._mapping[c] for c in _PEOPLE.columns})


def record_denied(session: Session, actor: Actor, endpoint: str | None, detail: dict) -> None:
    """A refused attempt is recorded in its own transaction: the request itself does nothing."""
    audit.record(session, actor, "access", "endpoint", endpoint, outcome="denied", detail=detail)
    session.commit()
