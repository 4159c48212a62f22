"""Intake: one consultation recorded, routed and referred in a single transaction.

The rows an intake writes — a new client and its search grams, the consent, a new case, the
consultation, its topics and routing decisions, the referrals with their first history rows
and outbox rows — are inserted with one Core INSERT per table (``_insert``) instead of the
unit of work, and the answer's objects are made from the values written and the returned
ids rather than loaded. Those statements bypass the scope's criteria and stamping: every
owned row gets its municipality here, the case's (the client's, or the actor's own for a new
client). The audit entries are chained at commit as for any use case.
"""

import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import SimpleNamespace

from sqlalchemy import case as when
from sqlalchemy import insert, select, text
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from caseapp.domain.vocab import CaseStatus, ReferralStatus, Urgency
from caseapp.models import (
    Case,
    Client,
    ClientBigram,
    Consent,
    Consultation,
    ConsultationTopic,
    Delivery,
    Event,
    Partner,
    Referral,
    ReferralEvent,
    RoutingDecision,
)
from caseapp.models.types import UTCDateTime, utcnow
from caseapp.rules.calendar import TOKYO, add_business_days
from caseapp.services.casework import cases, emergencies, reminders
from caseapp.services.clients import records
from caseapp.services.core import audit, places, scope
from caseapp.services.core.actors import Actor
from caseapp.services.core.attach import attached
from caseapp.services.core.errors import Invalid
from caseapp.services.core.lookup import get_or_404
from caseapp.services.core.pagination import paginate
from caseapp.services.core.results import ReadsThrough
from caseapp.services.delivery import outbox
from caseapp.services.intake import routing
from caseapp.services.legal import consents
from caseapp.services.referrals import consent_gate, lifecycle

FALLBACK_PARTNER = "jiritsu"
FOLLOW_UP_BUSINESS_DAYS = 5


@dataclass
class IntakeResult(ReadsThrough):
    consultation: Consultation
    possible_duplicates: list = field(default_factory=list)


@dataclass
class _Referral:
    """A referral decided on, before it is written."""

    partner: Partner
    values: dict
    first: dict  # its first history row


def record(session: Session, actor: Actor, data: dict, *, now: datetime | None = None,
           link: Callable[[Consultation], None] | None = None) -> IntakeResult:
    """``link`` lets a caller tie its own record to the consultation in the same transaction
    (a need found at a community meeting), so neither commits without the other."""
    # Nothing is left for a flush to write before commit, so no lookup needs to autoflush.
    with session.no_autoflush:
        return _record(session, actor, data, now or utcnow(), link)


def _record(session: Session, actor: Actor, data: dict, now: datetime,
            link: Callable[[Consultation], None] | None = None) -> IntakeResult:
    received_at = data.get("received_at") or now
    client, duplicates, new_client = _client(session, actor, data)
    event = _event(session, data.get("event_id"), data["channel"])
    if data.get("consent") is not None:
        if client is None:
            raise Invalid("匿名の相談には同意を記録できません"
                          "（consent needs a client）", errors={"consent": [
                "匿名の相談には同意を記録できません（client または client_id が必要です）"]})
        _consent(session, actor, client, data["consent"], now, new_client)

    topics = list(dict.fromkeys(data.get("topics") or ["other"]))
    case = None if new_client else cases.open_case(session, client)
    site = data.get("site") or ("event" if event else "counter" if data["channel"] == "window"
                                else None)
    site_area = (places.by_code(session, data["site_area"], field="site_area")
                 if data.get("site_area") else None)
    facts = data.get("facts") or {}
    urgency = data.get("urgency") or Urgency.NORMAL

    found = routing.directory(session)
    version, ruleset = found.ruleset_version, found.ruleset
    subject = routing.subject_for(
        {**data, "topics": topics}, client.birth_date if client else None,
        received_at.astimezone(TOKYO).date(),
        routing.area_facts(session, client.area_id if client else None))
    decisions, dangers = ruleset.assess(subject)
    planned, urgency = _refer(session, actor, client, case, topics, facts, urgency, decisions,
                              found.partners, now)
    emergency = dangers or urgency == Urgency.EMERGENCY
    waiting = any(p.values["status"] == ReferralStatus.AWAITING_CONSENT for p in planned)
    # What the case does next; a new case is written with it.
    step = case or SimpleNamespace(next_action_at=None, next_action=None)
    if emergency:
        emergencies.schedule(step, now)
    else:
        _schedule_next_action(step, waiting, urgency, received_at)

    new_case = case is None
    if new_case:
        home = client.municipality_id if client is not None else _home(session)
        [case] = _insert(session, Case, [dict(
            client_id=client.id if client else None, owner_id=actor.user_id,
            status=CaseStatus.OPEN, created_at=received_at, municipality_id=home,
            next_action_at=step.next_action_at, next_action=step.next_action)])
        set_committed_value(case, "client", client)
        if client is not None:
            _append(session, client, "cases", case, fresh=new_client)
    [consultation] = _insert(session, Consultation, [dict(
        municipality_id=case.municipality_id, case_id=case.id,
        client_id=client.id if client else None, event_id=event.id if event else None,
        received_at=received_at, site=site, site_area_id=site_area.id if site_area else None,
        channel=data["channel"], urgency=urgency, summary=data.get("summary") or "",
        facts=facts, ruleset_version=version, taken_by_id=actor.user_id,
        fallback_only=not any(d.action == "refer" and d.rule_id != ruleset.fallback_id
                              for d in decisions))])
    _write_children(session, consultation, case, client, event, site_area, topics, version,
                    decisions, planned, now)
    if not new_case:
        session.expire(case, ["consultations", "referrals"])

    if emergency:
        emergencies.start(session, actor, consultation, dangers, now)
    reminders.on_case_change(session, case, now=now, urgent=bool(emergency), new=new_case)
    if link is not None:
        link(consultation)
    audit.record(session, actor, "create", "consultation", consultation.id,
                 detail={"client_id": client.id if client else None, "case_id": case.id})
    # The outbox rows of this consultation's referrals (and of any it released) go to the
    # broker once this commits.
    session.commit()
    return IntakeResult(consultation, duplicates)


def _write_children(session: Session, consultation: Consultation, case: Case,
                    client: Client | None, event: Event | None, site_area, topics: list[str],
                    version: int | None, decisions, planned: list[_Referral],
                    now: datetime) -> None:
    """The consultation's topics, decisions, referrals, their history and outbox rows."""
    topic_rows = _insert(session, ConsultationTopic, [
        dict(consultation_id=consultation.id, topic=t, position=i)
        for i, t in enumerate(topics)])
    decision_rows = _insert(session, RoutingDecision, [dict(
        consultation_id=consultation.id, partner_code=d.partner, rule_id=d.rule_id,
        ruleset_version=version, reason=d.reason, action=d.action, method=d.method,
        urgency=d.urgency, legal_basis=d.legal_basis, matched=list(d.matched),
        also=list(d.also)) for d in decisions])
    referrals = _insert(session, Referral, [
        dict(p.values, municipality_id=case.municipality_id, case_id=case.id,
             consultation_id=consultation.id, partner_id=p.partner.id) for p in planned])
    _insert(session, ReferralEvent, [dict(p.first, referral_id=r.id)
                                     for p, r in zip(planned, referrals, strict=True)],
            objects=False)
    email = outbox.email_enabled()
    deliveries = _insert(session, Delivery, [
        dict(outbox.requested_row(channel, now), referral_id=r.id)
        for p, r in zip(planned, referrals, strict=True)
        if r.status == ReferralStatus.REQUESTED
        for channel in p.partner.channels(email_enabled=email)])
    for row in deliveries:
        outbox.made_due(session, row)
    # The objects are whole: reading them for the answer or the emergency protocol loads
    # nothing more.
    for p, referral in zip(planned, referrals, strict=True):
        for name, value in (("case", case), ("consultation", consultation),
                            ("partner", p.partner), ("safety_reviews", []),
                            ("deliveries", [d for d in deliveries
                                            if d.referral_id == referral.id])):
            set_committed_value(referral, name, value)
    for name, value in (("case", case), ("client", client), ("event", event),
                        ("site_area", site_area), ("topic_rows", topic_rows),
                        ("decisions", decision_rows), ("referrals", referrals),
                        ("emergency", None), ("team", None)):
        set_committed_value(consultation, name, value)


def _insert(session: Session, model, rows: list[dict], *, objects: bool = True) -> list:
    """One Core INSERT of ``rows``; with ``objects`` the rows as persistent objects, in order.

    The objects are made from the values written and the ids RETURNING gives, not loaded:
    an ORM bulk INSERT … RETURNING cost twice the Python of a Core one. Every column is
    written explicitly (defaults filled in here), so the objects hold exactly what the rows do.
    """
    if not rows:
        return []
    table = _Table.of(model)
    rows = [table.complete(row) for row in rows]
    written = table.written(rows)
    if not objects:
        session.execute(table.insert, written)
        return []
    ids = session.execute(table.returning, written).scalars().all()
    return [attached(session, model, {**row, "id": ident})
            for row, ident in zip(rows, ids, strict=True)]


@dataclass(frozen=True)
class _Table:
    """What ``_insert`` needs of a model, worked out once."""

    defaults: tuple  # (column, value or callable, callable?) for every column but the key
    utc: frozenset  # UTCDateTime columns: loaded back as UTC, so kept as UTC
    # Columns whose NULL is what leaving them out writes (no server default).
    omissible: frozenset
    insert: object
    returning: object

    @classmethod
    @functools.cache
    def of(cls, model) -> "_Table":
        table = model.__table__
        defaults = tuple(
            (c.key, None if c.default is None else c.default.arg,
             c.default is not None and c.default.is_callable)
            for c in table.columns if not c.primary_key)
        return cls(defaults=defaults,
                   utc=frozenset(c.key for c in table.columns
                                 if isinstance(c.type, UTCDateTime)),
                   omissible=frozenset(c.key for c in table.columns
                                       if not c.primary_key and c.server_default is None),
                   insert=insert(table),
                   returning=insert(table).returning(table.c.id, sort_by_parameter_order=True)
                   if "id" in table.c else None)

    def written(self, rows: list[dict]) -> list[dict]:
        """The rows without the columns that are NULL in every one of them: the statement stays
        short, and one of a few rows keeps under psycopg's 50 parameters for a cached parse."""
        empty = {key for key in self.omissible if all(row[key] is None for row in rows)}
        if not empty:
            return rows
        return [{key: value for key, value in row.items() if key not in empty} for row in rows]

    def complete(self, row: dict) -> dict:
        full = {key: (value(None) if call else value) for key, value, call in self.defaults
                if key not in row}
        full.update(row)
        for key in self.utc:
            if full[key] is not None:
                full[key] = full[key].astimezone(UTC)
        return full


# A name's twenty-odd grams as one array parameter: as rows of a multi-VALUES INSERT the
# statement's text changed with its length and was converted afresh each time.
_GRAMS = text("INSERT INTO client_bigrams (client_id, bigram) "
              "SELECT :client_id, unnest(CAST(:grams AS varchar[]))")


def _grams(session: Session, client_id: int, grams: list[str]) -> None:
    if session.get_bind().dialect.name == "postgresql":
        session.execute(_GRAMS, {"client_id": client_id, "grams": grams})
    else:
        _insert(session, ClientBigram, [dict(client_id=client_id, bigram=g) for g in grams],
                objects=False)


def _append(session: Session, parent, name: str, child, *, fresh: bool) -> None:
    """Add a row written by ``_insert`` to a collection of ``parent``."""
    if fresh:
        set_committed_value(parent, name, [child])
    elif name in parent.__dict__:
        session.expire(parent, [name])  # loaded before the row existed: read it again


def _home(session: Session) -> int | None:
    """The municipality a new client belongs to: the actor's (or the only one there is)."""
    current = scope.current(session)
    if current is not None and current.own is not None:
        return current.own
    return scope.default_municipality(session)


def _client(session: Session, actor: Actor, data: dict) -> tuple[Client | None, list, bool]:
    """The consultation's client, the records that may be the same person, and whether the
    client is new."""
    if data.get("client_id") is not None:
        client = session.get(Client, data["client_id"])
        if client is None:
            raise Invalid("この相談者は登録されていません（unknown client）",
                          errors={"client_id": ["この相談者は登録されていません"]})
        if client.merged_into_id is not None:
            raise Invalid("この相談者は別の記録に統合されています"
                          "（merged client）", extra={"merged_into": client.merged_into_id},
                          errors={"client_id": [
                              f"この相談者は {client.merged_into_id} に統合されました"]})
        audit.record(session, actor, "read", "client", client.id, purpose="intake")
        return client, [], False
    if data.get("client"):
        fields = records.clean(data["client"], "client.")
        keys = records.keys_for(fields["name"], fields.get("name_kana"))
        home = _home(session)
        [client] = _insert(session, Client, [dict(
            fields, **keys, municipality_id=home, created_by_id=actor.user_id,
            area_id=places.resolve(session, home, fields.get("address")))])
        _grams(session, client.id, sorted(records.index_grams(keys["search_key"],
                                                                keys["kana_key"])))
        for name in ("consents", "use_stops", "cases"):
            set_committed_value(client, name, [])
        audit.record(session, actor, "create", "client", client.id)
        return client, records.possible_duplicates(session, client), True
    return None, [], False


def _consent(session: Session, actor: Actor, client: Client, data: dict, now: datetime,
             new_client: bool) -> None:
    values = consents.checked(session, actor, data, now=now)
    [consent] = _insert(session, Consent, [dict(values, client_id=client.id)])
    set_committed_value(consent, "client", client)
    set_committed_value(client, "consents", [*client.consents, consent])
    audit.record(session, actor, "create", "consent", consent.id,
                 detail={"client_id": client.id, "scope": consent.scope})
    if not new_client:
        # A returning client's earlier referrals that waited for this consent go too.
        consent_gate.release(session, actor, consent_gate.waiting_for_client(session, client),
                             now, note="同意の記録により送付")


def _event(session: Session, event_id: int | None, channel: str) -> Event | None:
    if event_id is None:
        return None
    if channel != "event":
        # The event report counts by event and the monthly report by channel: a window
        # consultation filed under an event would be counted as one by one and not the other.
        raise Invalid("相談会を指定できるのは相談会で受けた相談だけです"
                      "（event_id needs channel 'event'）", errors={"event_id": [
            "相談会（event_id）を指定できるのは channel が event の相談だけです"
            "（event_id is only for channel 'event'）"]})
    event = session.get(Event, event_id)
    if event is None:
        raise Invalid("この相談会は登録されていません（unknown event）",
                      errors={"event_id": ["この相談会は登録されていません"]})
    return event


def _refer(session: Session, actor: Actor, client: Client | None, case: Case | None,
           topics: list[str], facts: dict, urgency: str, decisions, directory: dict[str, dict],
           now: datetime) -> tuple[list[_Referral], str]:
    """The referrals the decisions make, and the consultation's urgency (a rule may raise it)."""
    codes = {d.partner for d in decisions} | {FALLBACK_PARTNER}
    partners = {code: attached(session, Partner, directory[code])
                for code in codes if code in directory}
    sensitive = consent_gate.is_sensitive(topics, facts)
    meetings = consent_gate.meetings_for(session, case)
    planned: list[_Referral] = []

    def refer(partner, reason, method, rule_urgency, rule_id, decision_basis):
        nonlocal urgency
        if rule_urgency == Urgency.EMERGENCY:
            urgency = Urgency.EMERGENCY
        basis = consent_gate.basis_for(client, partner.code, now, sensitive=sensitive,
                                       decision_basis=decision_basis, meetings=meetings)
        values, first = lifecycle.opening(actor, partner, reason=reason, method=method,
                                          urgency=rule_urgency or urgency, basis=basis,
                                          rule_id=rule_id, now=now)
        planned.append(_Referral(partner, values, first))

    for decision in decisions:
        partner = partners.get(decision.partner)
        if decision.action != "refer" or partner is None or not partner.active:
            continue
        refer(partner, decision.reason, decision.method, decision.urgency, decision.rule_id,
              decision.legal_basis)
    fallback = partners.get(FALLBACK_PARTNER)
    if not planned and fallback is not None:
        # 断らない: the rules pointed only at absent or inactive partners; the coordinator takes it.
        refer(fallback, "該当する連携機関が利用できないため、自立相談支援機関が受け止めます",
              "intro_letter", None, "fallback:inactive", None)
    return planned, urgency


def _schedule_next_action(case, waiting: bool, urgency: str, received_at: datetime) -> None:
    days = 1 if waiting or urgency != Urgency.NORMAL else FOLLOW_UP_BUSINESS_DAYS
    due = add_business_days(received_at, days)
    if case.next_action_at is None or due < case.next_action_at:
        case.next_action_at = due
        case.next_action = ("情報共有の同意を取得し、つなぎを送る" if waiting
                            else "つなぎ先の受理と本人の状況を確認する")


def get(session: Session, actor: Actor, consultation_id: int) -> Consultation:
    consultation = get_or_404(session, Consultation, consultation_id)
    audit.record(session, actor, "read", "consultation", consultation.id)
    session.commit()
    return consultation


def listing(session: Session, actor: Actor, filters: dict, page: int, per_page: int):
    query = select(Consultation)
    for key in ("case_id", "client_id", "event_id", "channel", "urgency"):
        if filters.get(key) is not None:
            query = query.where(getattr(Consultation, key) == filters[key])
    if filters.get("received_from"):
        query = query.where(Consultation.received_at >= filters["received_from"])
    if filters.get("received_to"):
        query = query.where(Consultation.received_at < filters["received_to"])
    first = when((Consultation.urgency == Urgency.EMERGENCY, 0), else_=1)
    result = paginate(session, query.order_by(first, Consultation.received_at.desc(),
                                              Consultation.id.desc()), page, per_page)
    audit.record(session, actor, "list", "consultation", None,
                 detail={"results": [c.id for c in result.items]})
    session.commit()
    return result
