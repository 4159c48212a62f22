"""Retention: persons past the retention period are made anonymous, not deleted.

A person is past retention when none of their cases is open, none of their referrals is still
open, and their last activity — a case closed, a consultation received, the record created —
is more than ``retention_years`` ago. Anonymising clears what identifies them (name, reading,
search keys, contact, address, birth date, small area) and every free text written about them
(consultation summaries and facts, case next steps, referral reasons and notes, team notes,
stop-of-use reasons), in the records merged into them too. Rows stay, so every count the
reports make (consultations, topics, channels, districts, referrals, outcomes) is unchanged,
and partners' views lose the person because they read the same rows.

The audit log is not touched: its entries carry ids, not names, so the chain stays verifiable,
and one more entry records each anonymisation. Each person is done in its own transaction,
locked and re-checked, so the job is idempotent and two runs at once do each person once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import and_, exists, func, or_, select
from sqlalchemy.orm import Session

from caseapp.models import (
    Case,
    Client,
    Consent,
    Consultation,
    ConsultationTeam,
    Household,
    HouseholdMember,
    Referral,
    ReferralEvent,
    SupportMeeting,
    UseStop,
)
from caseapp.models.referrals import OPEN_STATUSES
from caseapp.models.types import utcnow
from caseapp.rules.calendar import TOKYO
from caseapp.services.core import audit
from caseapp.services.core.actors import SYSTEM

ANONYMISED = "（匿名化済み）"
BATCH = 200


@dataclass(frozen=True)
class Candidate:
    client_id: int
    last_activity: datetime


@dataclass
class RunResult:
    cutoff: datetime
    candidates: list[Candidate] = field(default_factory=list)
    anonymised: list[int] = field(default_factory=list)
    dry_run: bool = False


def cutoff(now: datetime, years: int) -> datetime:
    """The same calendar day ``years`` ago in Tokyo (29 February falls back to the 28th)."""
    local = now.astimezone(TOKYO)
    try:
        earlier = local.replace(year=local.year - years)
    except ValueError:
        earlier = local.replace(year=local.year - years, day=28)
    return earlier.astimezone(UTC)


def _eligible(before: datetime):
    """WHERE clauses for live, not yet anonymised clients with nothing open since ``before``."""
    open_case = exists().where(Case.client_id == Client.id, Case.status != "closed")
    open_referral = (exists().where(Referral.case_id == Case.id, Case.client_id == Client.id,
                                    Referral.status.in_(OPEN_STATUSES)))
    recent_case = exists().where(Case.client_id == Client.id,
                                 or_(Case.closed_at.is_(None), Case.closed_at >= before))
    recent_consultation = exists().where(Consultation.client_id == Client.id,
                                         Consultation.received_at >= before)
    return and_(Client.anonymised_at.is_(None), Client.merged_into_id.is_(None),
                Client.created_at < before, ~open_case, ~open_referral, ~recent_case,
                ~recent_consultation)


def candidates(session: Session, now: datetime, years: int,
               limit: int | None = None) -> list[Candidate]:
    before = cutoff(now, years)
    last_case = (select(func.max(Case.closed_at)).where(Case.client_id == Client.id)
                 .scalar_subquery())
    last_consultation = (select(func.max(Consultation.received_at))
                         .where(Consultation.client_id == Client.id).scalar_subquery())
    query = (select(Client.id, Client.created_at, last_case, last_consultation)
             .where(_eligible(before)).order_by(Client.id))
    if limit is not None:
        query = query.limit(limit)
    found = []
    for client_id, created, closed, consulted in session.execute(query):
        moments = [_aware(m) for m in (created, closed, consulted) if m is not None]
        found.append(Candidate(client_id, max(moments)))
    return found


def _aware(value: datetime) -> datetime:
    # max() over a column comes back naive from SQLite: the stored value is UTC.
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def run(session: Session, years: int, *, now: datetime | None = None, dry_run: bool = False,
        limit: int = BATCH) -> RunResult:
    """The retention job: anonymise up to ``limit`` persons past retention (or just list them)."""
    now = now or utcnow()
    result = RunResult(cutoff=cutoff(now, years), dry_run=dry_run)
    result.candidates = candidates(session, now, years, limit=limit)
    session.commit()
    if dry_run:
        return result
    for candidate in result.candidates:
        if anonymise(session, candidate.client_id, years=years, now=now):
            result.anonymised.append(candidate.client_id)
    return result


def anonymise(session: Session, client_id: int, *, years: int, now: datetime) -> bool:
    """Anonymise one person if still eligible; False when another run did it first."""
    query = select(Client).where(Client.id == client_id, _eligible(cutoff(now, years)))
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(of=Client, skip_locked=True)
    client = session.scalar(query.execution_options(populate_existing=True))
    if client is None:
        session.rollback()
        return False
    merged = list(session.scalars(select(Client).where(Client.merged_into_id == client.id)))
    people = [client, *merged]
    ids = [c.id for c in people]
    for person in people:
        _clear_person(person, now)
    counts = _clear_free_text(session, ids)
    _clear_households(session, ids)
    audit.record(session, SYSTEM, "anonymise", "client", client.id, purpose="retention",
                 detail={"records": ids, "retention_years": years, "counts": counts})
    session.commit()
    return True


def _clear_person(client: Client, now: datetime) -> None:
    client.name, client.name_kana = ANONYMISED, None
    client.search_key, client.kana_key = "", None
    client.birth_date = client.phone = client.postal_code = client.address = None
    client.small_area = None
    # sex and district stay: reports count by them, and alone they identify nobody.
    client.bigrams.clear()  # out of search for good
    client.anonymised_at = now


def _clear_free_text(session: Session, ids: list[int]) -> dict[str, int]:
    cases = list(session.scalars(select(Case).where(Case.client_id.in_(ids))))
    case_ids = [c.id for c in cases] or [-1]
    for case in cases:
        case.next_action = None
    consultations = list(session.scalars(select(Consultation).where(
        or_(Consultation.client_id.in_(ids), Consultation.case_id.in_(case_ids)))))
    for consultation in consultations:
        consultation.summary = ANONYMISED if consultation.summary else ""
        consultation.facts = {}
    consultation_ids = [c.id for c in consultations] or [-1]
    for team in session.scalars(select(ConsultationTeam).where(
            ConsultationTeam.consultation_id.in_(consultation_ids))):
        team.note = ""
    referrals = list(session.scalars(select(Referral).where(Referral.case_id.in_(case_ids))))
    for referral in referrals:
        referral.reason = ANONYMISED
        referral.outcome_note = referral.status_reason = referral.handled_note = None
    referral_ids = [r.id for r in referrals] or [-1]
    for event in session.scalars(select(ReferralEvent).where(
            ReferralEvent.referral_id.in_(referral_ids))):
        event.note = None
    for meeting in session.scalars(select(SupportMeeting).where(
            SupportMeeting.case_id.in_(case_ids))):
        meeting.note = None
    for consent in session.scalars(select(Consent).where(Consent.client_id.in_(ids))):
        consent.purposes = []
    for stop in session.scalars(select(UseStop).where(UseStop.client_id.in_(ids))):
        stop.reason = ANONYMISED
        stop.lift_reason = None if stop.lift_reason is None else ANONYMISED
    return {"cases": len(cases), "consultations": len(consultations),
            "referrals": len(referrals)}


def _clear_households(session: Session, ids: list[int]) -> None:
    """A household's name and address go once nobody in it is left identified."""
    household_ids = list(session.scalars(select(HouseholdMember.household_id)
                                         .where(HouseholdMember.client_id.in_(ids))))
    session.flush()
    for household in session.scalars(select(Household).where(Household.id.in_(household_ids))):
        if all(m.client.anonymised_at is not None for m in household.members):
            household.name = household.address = household.note = None
