"""The active rule set, compiled once per version and shared by every request."""

import threading
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from caseapp import rules
from caseapp.models import Partner, RuleSetVersion

_lock = threading.Lock()
_compiled: dict[int, rules.CompiledRuleSet] = {}


def active(session: Session) -> tuple[int | None, rules.CompiledRuleSet]:
    row = session.scalar(select(RuleSetVersion).order_by(RuleSetVersion.version.desc()).limit(1))
    if row is None:
        # An empty database still routes: the shipped set, unversioned, keeps 断らない true.
        return None, _shipped()
    with _lock:
        compiled = _compiled.get(row.version)
        if compiled is None:
            compiled = rules.compile_ruleset(row.source, partners=partner_codes(session))
            _compiled[row.version] = compiled
    return row.version, compiled


def _shipped() -> rules.CompiledRuleSet:
    with _lock:
        compiled = _compiled.get(0)
        if compiled is None:
            compiled = rules.compile_ruleset(rules.nankoku_ruleset_data(),
                                             partners=rules.NANKOKU_PARTNERS)
            _compiled[0] = compiled
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
