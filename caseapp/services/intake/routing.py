"""The active rule set, compiled once per version and shared by every request."""

import threading
from datetime import date, datetime, time

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from caseapp import rules
from caseapp.models import Client, Partner, RuleSetVersion
from caseapp.models.types import utcnow
from caseapp.rules.calendar import TOKYO
from caseapp.services.core import audit
from caseapp.services.core.actors import Actor
from caseapp.services.core.errors import Invalid

_lock = threading.Lock()
# Keyed by version and adoption time: a version number alone is reused by another database
# (tests, a restored backup), and a stale compiled set would route by the wrong rules.
_compiled: dict[tuple, rules.CompiledRuleSet] = {}


def active(session: Session) -> tuple[int | None, rules.CompiledRuleSet]:
    row = session.execute(select(RuleSetVersion.id, RuleSetVersion.version,
                                 RuleSetVersion.created_at)
                          .order_by(RuleSetVersion.version.desc()).limit(1)).first()
    if row is None:
        # An empty database still routes: the shipped set, unversioned, keeps 断らない true.
        return None, _shipped()
    key = (row.version, row.created_at)
    with _lock:
        compiled = _compiled.get(key)
    if compiled is None:
        # The source is read only when this process has not compiled this version yet.
        source = session.scalar(select(RuleSetVersion.source).where(RuleSetVersion.id == row.id))
        compiled = rules.compile_ruleset(source, partners=partner_codes(session))
        with _lock:
            _compiled[key] = compiled
    return row.version, compiled


def _shipped() -> rules.CompiledRuleSet:
    with _lock:
        compiled = _compiled.get(("shipped",))
        if compiled is None:
            compiled = rules.compile_ruleset(rules.nankoku_ruleset_data(),
                                             partners=rules.NANKOKU_PARTNERS)
            _compiled[("shipped",)] = compiled
    return compiled


def partner_codes(session: Session) -> set[str]:
    return set(session.scalars(select(Partner.code)))


def adopt(session: Session, data: dict, created_by_id: int | None) -> RuleSetVersion:
    """Validate the whole set against the directory and store it as the next version."""
    rules.compile_ruleset(data, partners=partner_codes(session))
    latest = session.scalar(select(func.max(RuleSetVersion.version))) or 0
    row = RuleSetVersion(version=latest + 1, source=data, created_by_id=created_by_id)
    session.add(row)
    session.flush()
    return row


def evaluate(session: Session, actor: Actor, data: dict) -> dict:
    """Dry run: where this consultation would go; only the read of a named client is kept."""
    birth_date = (data.get("client") or {}).get("birth_date")
    if data.get("client_id") is not None:
        client = session.get(Client, data["client_id"])
        if client is None:
            raise Invalid("この相談者は登録されていません（unknown client）",
                          errors={"client_id": ["この相談者は登録されていません"]})
        birth_date = client.birth_date
        audit.record(session, actor, "read", "client", client.id, purpose="rules.evaluate")
    version, compiled = active(session)
    on = (data.get("received_at") or utcnow()).astimezone(TOKYO).date()
    subject = subject_for({**data, "topics": data.get("topics") or ["other"]}, birth_date, on)
    decisions = [{**d.to_dict(), "partner_code": d.partner} for d in compiled.evaluate(subject)]
    session.commit()
    return {"ruleset_version": version, "decisions": decisions}


def subject_for(data: dict, birth_date: date | None, on: date) -> rules.Subject:
    return rules.Subject(
        topics=tuple(data.get("topics") or ()),
        urgency=data.get("urgency") or "normal",
        channel=data.get("channel") or "window",
        summary=data.get("summary") or "",
        facts=data.get("facts") or {},
        birth_date=birth_date,
        on=on,
    )


def problems_as_errors(problems) -> dict[str, list[str]]:
    """``{"<rule>.<field>": [message, ...]}``: the shape of field errors in problem+json."""
    errors: dict[str, list[str]] = {}
    for problem in problems:
        key = f"{problem.rule}.{problem.field}" if problem.rule else problem.field
        errors.setdefault(key, []).append(problem.message)
    return errors


def current_source(session: Session) -> dict:
    version, compiled = active(session)
    return {**compiled.data, "version": version}


def stored_subjects(session: Session, since: date | None = None, batch: int = 1000):
    """Past consultations as the rules see them, streamed for replay."""
    from caseapp.models import Client, Consultation

    query = (select(Consultation, Client.birth_date)
             .outerjoin(Client, Client.id == Consultation.client_id)
             .order_by(Consultation.id))
    if since is not None:
        query = query.where(Consultation.received_at >= datetime.combine(since, time(), TOKYO))
    for consultation, birth_date in session.execute(query.execution_options(yield_per=batch)):
        yield consultation.id, subject_for(
            {"topics": consultation.topics, "urgency": consultation.urgency,
             "channel": consultation.channel, "summary": consultation.summary,
             "facts": consultation.facts},
            birth_date, consultation.received_at.astimezone(TOKYO).date())
