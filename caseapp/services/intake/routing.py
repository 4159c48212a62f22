"""The active rule set, compiled once per version and shared by every request."""

import threading
from datetime import date, datetime, time

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from caseapp import rules
from caseapp.domain.community import AreaLevel
from caseapp.models import Area, Client, Partner, RuleSetVersion
from caseapp.models.types import utcnow
from caseapp.rules.calendar import TOKYO
from caseapp.services.core import audit, places, scope
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


def area_levels(session: Session) -> dict[str, str]:
    """Codes of the 地区 and 小地域 a rule may name (the session's municipality's), by level."""
    return dict(session.execute(select(Area.code, Area.level).where(
        Area.level.in_((AreaLevel.DISTRICT, AreaLevel.SMALL_AREA)))).all())


def area_facts(session: Session, area_id: int | None) -> dict:
    """The person's 地区 and 小地域 as the rules read them, from the area their address resolved
    to; nothing when it did not resolve, so a rule on the area cannot fire (never guessed)."""
    area = session.get(Area, area_id) if area_id is not None else None
    return _facts_of(area.level, area.code, area.name, area.parent) if area is not None else {}


def _facts_of(level: str, code: str, name: str, parent) -> dict:
    if level == AreaLevel.DISTRICT:
        return {"district": code, "area_names": {code: name}}
    if level == AreaLevel.SMALL_AREA and parent is not None:
        return {"district": parent.code, "small_area": code,
                "area_names": {code: name, parent.code: parent.name}}
    return {}


def adopt(session: Session, data: dict, created_by_id: int | None) -> RuleSetVersion:
    """Validate the whole set against the directory and the municipality's areas and store it
    as the next version."""
    rules.compile_ruleset(data, partners=partner_codes(session), areas=area_levels(session))
    latest = session.scalar(select(func.max(RuleSetVersion.version))) or 0
    row = RuleSetVersion(version=latest + 1, source=data, created_by_id=created_by_id)
    session.add(row)
    session.flush()
    return row


def evaluate(session: Session, actor: Actor, data: dict) -> dict:
    """Dry run: where this consultation would go; only the read of a named client is kept."""
    birth_date = (data.get("client") or {}).get("birth_date")
    visible = scope.current(session)
    area_id = places.resolve(session, visible.own if visible else None,
                             (data.get("client") or {}).get("address"))
    if data.get("client_id") is not None:
        client = session.get(Client, data["client_id"])
        if client is None:
            raise Invalid("この相談者は登録されていません（unknown client）",
                          errors={"client_id": ["この相談者は登録されていません"]})
        birth_date, area_id = client.birth_date, client.area_id
        audit.record(session, actor, "read", "client", client.id, purpose="rules.evaluate")
    version, compiled = active(session)
    on = (data.get("received_at") or utcnow()).astimezone(TOKYO).date()
    subject = subject_for({**data, "topics": data.get("topics") or ["other"]}, birth_date, on,
                          area_facts(session, area_id))
    decisions = [{**d.to_dict(), "partner_code": d.partner} for d in compiled.evaluate(subject)]
    session.commit()
    return {"ruleset_version": version, "decisions": decisions}


def subject_for(data: dict, birth_date: date | None, on: date,
                area: dict | None = None) -> rules.Subject:
    """``area`` is what :func:`area_facts` gives for the person's home."""
    return rules.Subject(
        topics=tuple(data.get("topics") or ()),
        urgency=data.get("urgency") or "normal",
        channel=data.get("channel") or "window",
        summary=data.get("summary") or "",
        facts=data.get("facts") or {},
        birth_date=birth_date,
        on=on,
        **(area or {}),
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

    query = (select(Consultation, Client.birth_date, Client.area_id)
             .outerjoin(Client, Client.id == Consultation.client_id)
             .order_by(Consultation.id))
    tree = {row.id: row for row in session.execute(
        select(Area.id, Area.code, Area.name, Area.level, Area.parent_id))}
    homes = {area_id: _facts_of(row.level, row.code, row.name, tree.get(row.parent_id))
             for area_id, row in tree.items()}
    if since is not None:
        query = query.where(Consultation.received_at >= datetime.combine(since, time(), TOKYO))
    for consultation, birth_date, area_id in session.execute(
            query.execution_options(yield_per=batch)):
        yield consultation.id, subject_for(
            {"topics": consultation.topics, "urgency": consultation.urgency,
             "channel": consultation.channel, "summary": consultation.summary,
             "facts": consultation.facts},
            birth_date, consultation.received_at.astimezone(TOKYO).date(), homes.get(area_id))
