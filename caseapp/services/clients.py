"""Clients (相談者): created with a search key, found however the name is typed."""

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from caseapp.jp.names import normalise_reading, search_key
from caseapp.jp.phone import phone_digits, postal_code
from caseapp.models import Client
from caseapp.services import audit
from caseapp.services.actors import Actor
from caseapp.services.errors import Invalid, NotFound
from caseapp.services.pagination import paginate

CLIENT_FIELDS = ("name", "name_kana", "birth_date", "sex", "phone", "postal_code", "address",
                 "district", "small_area")


def clean(data: dict, prefix: str = "") -> dict:
    """Normalise the free-typed fields; every problem is reported at once, per field."""
    out = {k: data.get(k) for k in CLIENT_FIELDS if k in data}
    problems: dict[str, list[str]] = {}
    for key, fn in (("name_kana", normalise_reading), ("phone", phone_digits),
                    ("postal_code", postal_code)):
        if out.get(key):
            try:
                out[key] = fn(out[key])
            except ValueError as exc:
                problems[prefix + key] = [str(exc)]
    if problems:
        raise Invalid("入力内容に誤りがあります", errors=problems)
    return out


def create(session: Session, actor: Actor, data: dict, *, prefix: str = "") -> Client:
    fields = clean(data, prefix)
    client = Client(**fields, created_by_id=actor.user_id)
    _set_keys(client)
    session.add(client)
    session.flush()
    audit.record(session, actor, "create", "client", client.id)
    return client


def _set_keys(client: Client) -> None:
    client.search_key = search_key(client.name)
    client.kana_key = search_key(client.name_kana) if client.name_kana else None


def possible_duplicates(session: Session, client: Client, limit: int = 5) -> list[dict]:
    """Score likely same-person records; staff decide, nothing is merged here."""
    conditions = [Client.search_key == client.search_key]
    if client.kana_key:
        conditions.append(Client.kana_key == client.kana_key)
    if client.phone:
        conditions.append(Client.phone == client.phone)
    candidates = session.scalars(
        select(Client).where(Client.id != client.id, or_(*conditions)).limit(50)
    )
    found = []
    for other in candidates:
        reasons, score = _match(client, other)
        if score >= 2:
            found.append({"client_id": other.id, "name": other.name, "score": score,
                          "reasons": reasons})
    found.sort(key=lambda item: (-item["score"], item["client_id"]))
    return found[:limit]


def _match(a: Client, b: Client) -> tuple[list[str], int]:
    reasons, score = [], 0
    same_birth = a.birth_date is not None and a.birth_date == b.birth_date
    if a.kana_key and a.kana_key == b.kana_key:
        reasons.append("same_reading")
        score += 1
    if a.search_key == b.search_key:
        reasons.append("same_name")
        score += 1
    if same_birth:
        reasons.append("same_birth_date")
        score += 2
    if a.phone and a.phone == b.phone:
        reasons.append("same_phone")
        score += 2
    if a.address and a.address == b.address:
        reasons.append("same_address")
        score += 1
    return reasons, score


def get(session: Session, actor: Actor, client_id: int, *, purpose: str | None = None) -> Client:
    client = session.get(Client, client_id)
    if client is None:
        raise NotFound(f"client {client_id} not found")
    audit.record(session, actor, "read", "client", client.id, purpose=purpose)
    return client


def search(session: Session, actor: Actor, q: str, page: int, per_page: int):
    key = search_key(q or "")
    if not key:
        raise Invalid("検索語を入力してください", errors={"q": ["empty search"]})
    pattern = f"%{_escape(key)}%"
    conditions = [Client.search_key.like(pattern, escape="\\"),
                  Client.kana_key.like(pattern, escape="\\")]
    try:
        digits = phone_digits(q) if sum(ch.isdigit() for ch in q) >= 4 else None
    except ValueError:
        digits = "".join(ch for ch in q if ch.isdigit()) or None
    if digits:
        conditions.append(Client.phone.like(f"%{digits}%"))
    result = paginate(session, select(Client).where(or_(*conditions)).order_by(Client.id),
                      page, per_page)
    audit.record(session, actor, "search", "client", None,
                 detail={"results": [c.id for c in result.items]})
    return result


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
