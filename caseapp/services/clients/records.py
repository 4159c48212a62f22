"""Clients (相談者): created with search keys, found however the name is typed, never
silently doubled (possible duplicates are proposed; merging is a separate, explicit step in
:mod:`caseapp.services.clients.merge`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import Integer, and_, any_, case, cast, func, or_, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session, aliased

from caseapp.domain import client_query
from caseapp.domain.client_query import Query
from caseapp.jp.names import bigrams, normalise_reading, search_key
from caseapp.jp.phone import phone_digits, postal_code
from caseapp.models import Client, ClientBigram
from caseapp.models.types import utcnow
from caseapp.rules.calendar import TOKYO
from caseapp.services.core import audit, places
from caseapp.services.core.actors import Actor
from caseapp.services.core.errors import Invalid, NotFound
from caseapp.services.core.lookup import get_or_404
from caseapp.services.core.pagination import Page
from caseapp.services.core.results import ReadsThrough

CLIENT_FIELDS = ("name", "name_kana", "birth_date", "sex", "phone", "postal_code", "address",
                 "district", "small_area")
# Nobody alive was born more than this many years ago: an older date is a typing slip.
MAX_AGE_YEARS = 125


def clean(data: dict, prefix: str = "", *, today: date | None = None) -> dict:
    """Normalise the free-typed fields; every problem is reported at once, per field."""
    out = {k: data.get(k) for k in CLIENT_FIELDS if k in data}
    problems: dict[str, list[str]] = {}
    for key in ("name", "address", "district", "small_area"):
        if isinstance(out.get(key), str):
            out[key] = out[key].strip() or None
    if "name" in out and not search_key(out["name"] or ""):
        problems[prefix + "name"] = ["氏名を入力してください / name is empty"]
    for key, fn in (("name_kana", normalise_reading), ("phone", phone_digits),
                    ("postal_code", postal_code)):
        if isinstance(out.get(key), str) and not out[key].strip():
            out[key] = None
        if out.get(key):
            try:
                out[key] = fn(out[key])
            except ValueError as exc:
                problems[prefix + key] = [str(exc)]
    birth = out.get("birth_date")
    if birth is not None:
        today = today or utcnow().astimezone(TOKYO).date()
        if birth > today:
            problems[prefix + "birth_date"] = [
                f"生年月日が未来の日付です（{birth.isoformat()}） / birth date is in the future"]
        elif birth.year < today.year - MAX_AGE_YEARS:
            problems[prefix + "birth_date"] = [
                f"生年月日が古すぎます（{birth.isoformat()}、{MAX_AGE_YEARS}歳超） / "
                f"birth date more than {MAX_AGE_YEARS} years ago"]
    if problems:
        raise Invalid("入力内容に誤りがあります", errors=problems)
    return out


@dataclass
class ClientWritten(ReadsThrough):
    """A client as registered or corrected, and the records that may be the same person."""

    client: Client
    possible_duplicates: list[dict]


def register(session: Session, actor: Actor, data: dict) -> ClientWritten:
    """POST /clients: create the client and propose likely duplicates; nothing is merged."""
    written = create(session, actor, data)
    session.commit()
    return written


def correct(session: Session, actor: Actor, client_id: int, changes: dict) -> ClientWritten:
    """Correct a client's details and propose the duplicates the fix reveals."""
    written = update(session, actor, client_id, changes)
    session.commit()
    return written


def create(session: Session, actor: Actor, data: dict, *, prefix: str = "") -> ClientWritten:
    """A new client in the caller's transaction (intake creates clients this way too)."""
    fields = clean(data, prefix)
    client = Client(**fields, created_by_id=actor.user_id)
    set_keys(client)
    session.add(client)
    session.flush()
    client.area_id = places.resolve(session, client.municipality_id, client.address)
    audit.record(session, actor, "create", "client", client.id)
    return ClientWritten(client, possible_duplicates(session, client))


def update(session: Session, actor: Actor, client_id: int, changes: dict) -> ClientWritten:
    """Correct a client's details (typos); only the fields of ``CLIENT_FIELDS`` can change."""
    client = live_client(session, client_id)
    if "name" in changes and changes["name"] is None:
        raise Invalid("氏名は削除できません"
                      "（name cannot be removed）", errors={"name": ["氏名は削除できません"]})
    fields = clean(changes)
    changed = sorted(k for k, v in fields.items() if getattr(client, k) != v)
    for key in changed:
        setattr(client, key, fields[key])
    if {"name", "name_kana"} & set(changed):
        set_keys(client)
    if "address" in changed:
        client.area_id = places.resolve(session, client.municipality_id, client.address)
    audit.record(session, actor, "update", "client", client.id, detail={"fields": changed})
    session.flush()
    return ClientWritten(client, possible_duplicates(session, client))


def index_grams(*keys: str | None) -> list[str]:
    """The pieces stored in ``client_bigrams``: each distinct character and pair of the keys.

    A query of one character is then one lookup, and a longer one the intersection of its
    :func:`~caseapp.jp.names.bigrams`.
    """
    grams: dict[str, None] = {}
    for key in keys:
        if key:
            grams.update(dict.fromkeys(key))
            grams.update(dict.fromkeys(bigrams(key)))
    return list(grams)


def keys_for(name: str, name_kana: str | None) -> dict:
    """The search keys stored on the client row."""
    return {"search_key": search_key(name),
            "kana_key": search_key(name_kana) if name_kana else None}


def set_keys(client: Client) -> None:
    """Recompute the search keys and bring the bigram rows in line with them."""
    for key, value in keys_for(client.name, client.name_kana).items():
        setattr(client, key, value)
    wanted = set(index_grams(client.search_key, client.kana_key))
    have = {row.bigram: row for row in client.bigrams}
    for gram, row in have.items():
        if gram not in wanted:
            client.bigrams.remove(row)
    client.bigrams.extend(ClientBigram(bigram=g) for g in sorted(wanted - have.keys()))


def get(session: Session, actor: Actor, client_id: int, *, purpose: str | None = None) -> Client:
    client = live_client(session, client_id)
    audit.record(session, actor, "read", "client", client.id, purpose=purpose)
    session.commit()
    return client


def live_client(session: Session, client_id: int) -> Client:
    """A client that exists and was not merged away; a merged one names its survivor."""
    client = get_or_404(session, Client, client_id)
    if client.merged_into_id is not None:
        raise NotFound(
            f"相談者 {client_id} は {client.merged_into_id} に統合されました / "
            f"client {client_id} was merged into {client.merged_into_id}",
            extra={"merged_into": client.merged_into_id})
    return client


# --- duplicates (名寄せ候補) ---------------------------------------------------------------

#: Evidence weights. A proposal needs DUPLICATE_THRESHOLD and at least one identity match
#: (name, reading or phone): an address or a birthday alone is shared by families and twins.
WEIGHTS = {"same_name": 2, "same_reading": 2, "same_birth_date": 3, "similar_birth_date": 2,
           "same_phone": 4, "same_address": 2}
# Two known birth dates that are not a plausible typo of each other: different people
# (a parent and child sharing the home phone, namesakes).
DIFFERENT_BIRTH_DATE = -2
DUPLICATE_THRESHOLD = 4
_IDENTITY = {"same_name", "same_reading", "same_phone"}
_CANDIDATES = 200
_MATCHED = (Client.id, Client.name, Client.name_kana, Client.birth_date, Client.search_key,
            Client.kana_key, Client.phone, Client.address)


def possible_duplicates(session: Session, client: Client, limit: int = 5) -> list[dict]:
    """Score likely same-person records; staff decide, nothing is merged here."""
    conditions = [Client.search_key == client.search_key]
    if client.kana_key:
        conditions.append(Client.kana_key == client.kana_key)
    if client.phone:
        conditions.append(Client.phone == client.phone)
    # The columns ``match`` reads, not whole clients: up to 200 namesakes are compared.
    candidates = session.execute(
        select(*_MATCHED).where(Client.id != client.id, Client.merged_into_id.is_(None),
                                or_(*conditions))
        .order_by(Client.id.desc()).limit(_CANDIDATES))
    found = []
    for other in candidates:
        reasons, score = match(client, other)
        if score >= DUPLICATE_THRESHOLD and _IDENTITY.intersection(reasons):
            found.append({"client_id": other.id, "name": other.name,
                          "name_kana": other.name_kana, "birth_date": other.birth_date,
                          "score": score, "reasons": reasons})
    found.sort(key=lambda item: (-item["score"], item["client_id"]))
    return found[:limit]


def match(a: Client, b: Client) -> tuple[list[str], int]:
    """Why two records may be one person, and how strongly (see :data:`WEIGHTS`)."""
    reasons = []
    if a.search_key and a.search_key == b.search_key:
        reasons.append("same_name")
    if a.kana_key and a.kana_key == b.kana_key:
        reasons.append("same_reading")
    score = 0
    if a.birth_date is not None and b.birth_date is not None:
        if a.birth_date == b.birth_date:
            reasons.append("same_birth_date")
        elif _typo_of(a.birth_date, b.birth_date):
            reasons.append("similar_birth_date")
        else:
            score += DIFFERENT_BIRTH_DATE
    if a.phone and a.phone == b.phone:
        reasons.append("same_phone")
    if a.address and b.address and _address_key(a.address) == _address_key(b.address):
        reasons.append("same_address")
    return reasons, score + sum(WEIGHTS[r] for r in reasons)


def _typo_of(a: date, b: date) -> bool:
    """One of year, month and day differs, or month and day are swapped."""
    differing = (a.year != b.year) + (a.month != b.month) + (a.day != b.day)
    swapped = a.year == b.year and a.month == b.day and a.day == b.month
    return differing == 1 or swapped


def _address_key(address: str) -> str:
    return search_key(address)


def duplicates_of(session: Session, actor: Actor, client_id: int) -> list[dict]:
    """On-demand 名寄せ check for an existing client (audited: it shows other clients)."""
    client = live_client(session, client_id)
    found = possible_duplicates(session, client, limit=20)
    audit.record(session, actor, "duplicates", "client", client.id,
                 detail={"results": [d["client_id"] for d in found]})
    session.commit()
    return found


# --- search -------------------------------------------------------------------------------

def parse_query(q: str) -> Query:
    try:
        return client_query.parse_query(q)
    except client_query.EmptyQuery as exc:
        raise Invalid("検索語を入力してください",
                      errors={"q": ["検索語が空です / empty search"]}) from exc


def _like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


#: On PostgreSQL a word this long is served by the pg_trgm GIN indexes on the keys; a
#: shorter one (山田, 林) has no trigram and goes through ``client_bigrams``.
TRIGRAM_MIN = 3
#: A long word needs only some of its bigrams to narrow the candidates (the LIKE checks the
#: rest); every extra one costs an index probe.
MAX_GRAMS_PER_WORD = 4
#: Pieces probed for a whole query (more words only add LIKE checks).
MAX_GRAMS = 6


def probe_grams(token: str) -> list[str]:
    """Bigrams that together cover ``token``: every other one, and the last."""
    pairs = bigrams(token)
    if len(token) <= 2:
        return pairs
    chosen = pairs[::2][: MAX_GRAMS_PER_WORD - 1]
    last = token[-2:]
    return list(dict.fromkeys([*chosen, last]))


def _has_grams(grams: list[str], dialect: str):
    """Clients whose keys hold every one of ``grams`` (read from ``client_bigrams``)."""
    # One index range per piece, joined on client_id: both sides come sorted by client_id
    # from the (bigram, client_id) key, so PostgreSQL merges them and SQLite probes the key.
    first, *rest = [aliased(ClientBigram) for _ in grams[:MAX_GRAMS]]
    holders = select(first.client_id).where(first.bigram == grams[0])
    for alias, gram in zip(rest, grams[1:], strict=False):
        holders = holders.join(alias, and_(alias.client_id == first.client_id,
                                           alias.bigram == gram))
    if dialect == "postgresql":
        # ``id = ANY(array)`` makes PostgreSQL fetch the candidates by primary key in id
        # order; as ``IN (subquery)`` it hash-joins a scan of all clients (~5x slower here).
        ids = select(func.array_agg(holders.subquery().c.client_id)).scalar_subquery()
        return Client.id == any_(cast(ids, ARRAY(Integer)))
    return Client.id.in_(holders)


def search_query(query: Query, *, dialect: str, birth_date: date | None = None):
    """``(where clauses, rank expression)`` for a parsed query.

    Rank 0: the whole name, reading or phone equals the query; 1: it starts with the query
    (for names, with its first word); 2: the query is inside it.
    """
    where = [Client.merged_into_id.is_(None)]
    if birth_date is not None:
        where.append(Client.birth_date == birth_date)
    if query.digits is not None:
        d = query.digits
        where.append(Client.phone == d if query.whole_number
                     else Client.phone.like(f"%{_like(d)}%", escape="\\"))
        rank = case((Client.phone == d, 0),
                    (Client.phone.like(f"{_like(d)}%", escape="\\"), 1), else_=2)
        return where, rank
    grams: list[str] = []
    for token in query.tokens:
        if not (dialect == "postgresql" and len(token) >= TRIGRAM_MIN):
            grams.extend(probe_grams(token))
    if grams:
        where.append(_has_grams(list(dict.fromkeys(grams)), dialect))
    # The LIKEs check that each word really appears, contiguous, in the name or the reading.
    for token in query.tokens:
        pattern = f"%{_like(token)}%"
        where.append(or_(Client.search_key.like(pattern, escape="\\"),
                         Client.kana_key.like(pattern, escape="\\")))
    key, first = query.key, f"{_like(query.tokens[0])}%"
    rank = case((or_(Client.search_key == key, Client.kana_key == key), 0),
                (or_(Client.search_key.like(first, escape="\\"),
                     Client.kana_key.like(first, escape="\\")), 1),
                else_=2)
    return where, rank


@dataclass
class Hit(ReadsThrough):
    """A found client and how it matched."""

    client: Client
    match: str


MATCH_NAMES = ("exact", "prefix", "substring")


def search(session: Session, actor: Actor, q: str, page: int, per_page: int, *,
           birth_date: date | None = None) -> Page:
    """Ranked, paginated client search by name, reading or phone (audited)."""
    query = parse_query(q)
    where, rank = search_query(query, dialect=session.get_bind().dialect.name,
                               birth_date=birth_date)
    rank = rank.label("rank")
    # One pass gives the page and, through the window, the total.
    rows = session.execute(
        select(Client, rank, func.count().over().label("total")).where(*where)
        .order_by(rank, Client.kana_key.asc().nulls_last(), Client.search_key, Client.id)
        .limit(per_page).offset((page - 1) * per_page)).all()
    if rows:
        total = rows[0].total
    else:  # past the last page (or nothing found): count separately
        total = session.scalar(select(func.count(Client.id)).where(*where)) if page > 1 else 0
    hits = [Hit(row[0], MATCH_NAMES[row.rank]) for row in rows]
    audit.record(session, actor, "search", "client", None,
                 detail={"results": [h.client.id for h in hits], "total": total})
    session.commit()
    return Page(hits, total or 0, page, per_page)

