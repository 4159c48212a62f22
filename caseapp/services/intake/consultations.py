"""Intake: one consultation recorded, routed and referred in a single transaction."""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import case as when
from sqlalchemy import select
from sqlalchemy.orm import Session

from caseapp.domain.vocab import ReferralStatus, Urgency
from caseapp.models import (
    Client,
    Consultation,
    ConsultationTopic,
    Event,
    Partner,
    Referral,
    RoutingDecision,
)
from caseapp.models.types import utcnow
from caseapp.rules.calendar import TOKYO, add_business_days
from caseapp.services.casework import cases, emergencies, reminders
from caseapp.services.clients import records
from caseapp.services.core import audit, places
from caseapp.services.core.actors import Actor
from caseapp.services.core.errors import Invalid
from caseapp.services.core.lookup import get_or_404
from caseapp.services.core.pagination import paginate
from caseapp.services.core.results import ReadsThrough
from caseapp.services.intake import routing
from caseapp.services.legal import consents
from caseapp.services.referrals import consent_gate, lifecycle

FALLBACK_PARTNER = "jiritsu"
FOLLOW_UP_BUSINESS_DAYS = 5


@dataclass
class IntakeResult(ReadsThrough):
    consultation: Consultation
    possible_duplicates: list = field(default_factory=list)


def record(session: Session, actor: Actor, data: dict, *, now: datetime | None = None,
           link: Callable[[Consultation], None] | None = None) -> IntakeResult:
    """``link`` lets a caller tie its own record to the consultation in the same transaction
    (a need found at a community meeting), so neither commits without the other."""
    # Rows are added in dependency order and flushed where an id is needed; letting every
    # lookup autoflush instead cost more than the inserts themselves.
    with session.no_autoflush:
        return _record(session, actor, data, now or utcnow(), link)


def _record(session: Session, actor: Actor, data: dict, now: datetime,
            link: Callable[[Consultation], None] | None = None) -> IntakeResult:
    received_at = data.get("received_at") or now
    client, duplicates = _client(session, actor, data)
    event = _event(session, data.get("event_id"), data["channel"])
    if data.get("consent") is not None:
        if client is None:
            raise Invalid("匿名の相談には同意を記録できません"
                          "（consent needs a client）", errors={"consent": [
                "匿名の相談には同意を記録できません（client または client_id が必要です）"]})
        consents.record(session, actor, client, data["consent"], now=now)
        if client.id is not None:
            # A returning client's earlier referrals that waited for this consent go too.
            consent_gate.release(session, actor, consent_gate.waiting_for_client(session, client),
                                 now, note="同意の記録により送付")

    topics = list(dict.fromkeys(data.get("topics") or ["other"]))
    case = cases.open_for(session, client, actor, received_at)
    site = data.get("site") or ("event" if event else "counter" if data["channel"] == "window"
                                else None)
    site_area = (places.by_code(session, data["site_area"], field="site_area")
                 if data.get("site_area") else None)
    consultation = Consultation(
        case=case, client=client, event=event, received_at=received_at, site=site,
        site_area=site_area, channel=data["channel"], urgency=data.get("urgency") or Urgency.NORMAL,
        summary=data.get("summary") or "", facts=data.get("facts") or {},
        taken_by_id=actor.user_id,
        topic_rows=[ConsultationTopic(topic=t, position=i) for i, t in enumerate(topics)],
    )
    session.add(consultation)

    version, ruleset = routing.active(session)
    consultation.ruleset_version = version
    subject = routing.subject_for(
        {**data, "topics": topics}, client.birth_date if client else None,
        received_at.astimezone(TOKYO).date(),
        routing.area_facts(session, client.area_id if client else None))
    decisions, dangers = ruleset.assess(subject)
    _refer(session, actor, consultation, decisions, version, now)
    consultation.fallback_only = not any(
        d.action == "refer" and d.rule_id != ruleset.fallback_id for d in decisions)
    emergency = dangers or consultation.urgency == Urgency.EMERGENCY
    if emergency:
        emergencies.schedule(case, now)
    else:
        _schedule_next_action(case, consultation, received_at)

    session.flush()
    if emergency:
        emergencies.start(session, actor, consultation, dangers, now)
    reminders.on_case_change(session, case, now=now, urgent=bool(emergency))
    if link is not None:
        link(consultation)
    audit.record(session, actor, "create", "consultation", consultation.id,
                 detail={"client_id": client.id if client else None, "case_id": case.id})
    # The outbox rows of this consultation's referrals (and of any it released) go to the
    # broker once this commits.
    session.commit()
    return IntakeResult(consultation, duplicates)


def _client(session: Session, actor: Actor, data: dict) -> tuple[Client | None, list]:
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
        return client, []
    if data.get("client"):
        written = records.create(session, actor, data["client"], prefix="client.")
        return written.client, written.possible_duplicates
    return None, []


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


def _refer(session: Session, actor: Actor, consultation: Consultation, decisions, version,
           now: datetime) -> None:
    codes = {d.partner for d in decisions} | {FALLBACK_PARTNER}
    partners = {p.code: p for p in session.scalars(select(Partner).where(Partner.code.in_(codes)))}
    sensitive = consent_gate.is_sensitive(consultation.topics, consultation.facts)
    meetings = consent_gate.meetings_for(session, consultation.case)
    referred = False
    for decision in decisions:
        consultation.decisions.append(RoutingDecision(
            partner_code=decision.partner, rule_id=decision.rule_id, ruleset_version=version,
            reason=decision.reason, action=decision.action, method=decision.method,
            urgency=decision.urgency, legal_basis=decision.legal_basis,
            matched=list(decision.matched), also=list(decision.also)))
        partner = partners.get(decision.partner)
        if decision.action != "refer" or partner is None or not partner.active:
            continue
        _make_referral(session, actor, consultation, partner, decision.reason, decision.method,
                       decision.urgency, decision.rule_id, decision.legal_basis, sensitive,
                       meetings, now)
        referred = True
    fallback = partners.get(FALLBACK_PARTNER)
    if not referred and fallback is not None:
        # 断らない: the rules pointed only at absent or inactive partners; the coordinator takes it.
        _make_referral(session, actor, consultation, fallback,
                       "該当する連携機関が利用できないため、自立相談支援機関が受け止めます",
                       "intro_letter", None, "fallback:inactive", None, sensitive, meetings,
                       now)


def _make_referral(session, actor, consultation, partner, reason, method, urgency, rule_id,
                   decision_basis, sensitive, meetings, now) -> Referral:
    if urgency == Urgency.EMERGENCY and consultation.urgency != Urgency.EMERGENCY:
        consultation.urgency = Urgency.EMERGENCY
    basis = consent_gate.basis_for(consultation.client, partner.code, now, sensitive=sensitive,
                               decision_basis=decision_basis, meetings=meetings)
    return lifecycle.create(session, actor, case=consultation.case, partner=partner,
                            reason=reason, method=method,
                            urgency=urgency or consultation.urgency, basis=basis,
                            consultation=consultation, rule_id=rule_id, now=now)


def _schedule_next_action(case, consultation: Consultation, received_at: datetime) -> None:
    waiting = any(r.status == ReferralStatus.AWAITING_CONSENT for r in consultation.referrals)
    days = 1 if waiting or consultation.urgency != Urgency.NORMAL else FOLLOW_UP_BUSINESS_DAYS
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
