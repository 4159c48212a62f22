"""Changing the routing rules safely: read a rule file, show its problems by rule and field,
replay past consultations through it, adopt it as the next version, or adopt an earlier one
again. The admin pages and the API's rules endpoints both come here.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, datetime

import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session

from caseapp import rules
from caseapp.models import Consultation, RuleSetVersion, User
from caseapp.models.types import utcnow
from caseapp.rules.calendar import TOKYO
from caseapp.services.core import audit
from caseapp.services.core.actors import Actor
from caseapp.services.core.errors import Invalid, NotFound
from caseapp.services.intake import routing

MAX_MONTHS = 36
MAX_TEXT = 1_000_000


@dataclass(frozen=True)
class VersionRow:
    version: int
    adopted_at: datetime
    adopted_by: str | None  # None: the shipped set, adopted at set-up
    label: str | None  # the file's own version text
    rules: int
    active: bool
    copied_from: int | None


@dataclass
class Example:
    consultation_id: int
    received_at: datetime
    topics: list[str]
    before: list[str]
    after: list[str]


@dataclass
class Preview:
    """A candidate rule set: its problems, or how the past months would have gone with it."""

    text: str
    problems: list[rules.Problem] = field(default_factory=list)
    months: int = 0
    since: date | None = None
    current_version: int | None = None
    total: int = 0
    changed: int = 0
    # partner code -> {"refer": [before, after], "suggest": [before, after]}; changed ones only
    counts: dict[str, dict[str, list[int]]] = field(default_factory=dict)
    examples: list[Example] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def parse_text(text: str, mimetype: str | None = None) -> dict:
    """A rule file (YAML, or JSON when said so) as data; problems raise Invalid by rule and
    field. The version a file names is its label: the server numbers versions itself."""
    if not text or not text.strip():
        raise Invalid("ルールセットが空です（empty rule set）",
                      errors={"_schema": ["ルールセットを送ってください"]})
    if len(text) > MAX_TEXT:
        raise Invalid("ルールファイルが大きすぎます（rule file too large）",
                      errors={"(file)": ["ファイルが大きすぎます"]})
    if mimetype == "application/json":
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise Invalid("ルールファイルを JSON として読めません（malformed JSON）",
                          errors={"(file)": [_json_problem(exc)]}) from exc
    else:
        try:
            data = rules.load_ruleset_text(text)
        except rules.RuleSetInvalid as exc:
            raise _invalid("ルールファイルを読めません", "rule file could not be read",
                           exc.problems) from exc
    if not isinstance(data, dict):
        raise Invalid("ルールセットは rules を持つオブジェクトです（a rule set is an object with "
                      "rules）",
                      errors={"_schema": ["{\"rules\": [...]} の形で送ってください"]})
    return data


def refused(problems) -> Invalid:
    """The answer to a rule set that cannot be adopted: every problem, by rule and field."""
    return _invalid("ルールセットを受け付けられません", "rule set refused", problems)


def _invalid(japanese: str, english: str, problems) -> Invalid:
    count = len(problems)
    return Invalid(f"{japanese}。問題が {count} 件あります（{english}: {count} problem(s)）",
                   errors=routing.problems_as_errors(problems),
                   extra={"problems": [p.to_dict() for p in problems]})


def _json_problem(exc: ValueError) -> str:
    line, column = getattr(exc, "lineno", None), getattr(exc, "colno", None)
    where = f"。{line} 行目の {column} 文字目を確かめてください" if line and column else ""
    return f"ファイルを JSON として読めません{where}（{exc}）"


def problems_of(session: Session, data: dict) -> list[rules.Problem]:
    return rules.validate_ruleset(data, routing.partner_codes(session),
                                  routing.area_levels(session))


def since_for(months: int, today: date) -> date:
    """The same day ``months`` months back (the month's last day when it has fewer days)."""
    month_index = today.year * 12 + today.month - 1 - months
    year, month = divmod(month_index, 12)
    month += 1
    for day in range(today.day, 0, -1):
        try:
            return date(year, month, day)
        except ValueError:
            continue
    raise AssertionError("unreachable")


def preview(session: Session, actor: Actor, text: str, *, months: int = 6,
            examples: int = 10, mimetype: str | None = None) -> Preview:
    """Problems by rule and field, or the replay of the last ``months`` months. The examples
    name consultations (their topics), so the preview is audited with their ids."""
    if not 1 <= months <= MAX_MONTHS:
        raise Invalid(f"月数は 1〜{MAX_MONTHS} か月で指定してください（months out of range）",
                      errors={"months": [f"1〜{MAX_MONTHS} か月で指定してください"]})
    result = Preview(text=text, months=months)
    try:
        data = parse_text(text, mimetype)
    except Invalid as exc:
        result.problems = [rules.Problem(**p) for p in exc.extra.get("problems", [])] or [
            rules.Problem(rule=None, field=key, message=message)
            for key, messages in (exc.errors or {}).items() for message in messages]
        return result
    result.problems = problems_of(session, data)
    if result.problems:
        return result
    candidate = rules.compile_ruleset(data, routing.partner_codes(session),
                                      routing.area_levels(session))
    version, current = routing.active(session)
    result.current_version = version
    result.since = since_for(months, utcnow().astimezone(TOKYO).date())
    report = rules.replay(current, candidate, routing.stored_subjects(session, result.since),
                          examples=examples)
    result.total, result.changed = report.total, report.changed
    result.counts = {p: by for p, by in sorted(report.counts.items())
                     if any(c[0] != c[1] for c in by.values())}
    found = {c.id: c for c in session.scalars(select(Consultation).where(
        Consultation.id.in_([e.key for e in report.examples])))}
    for example in report.examples:
        consultation = found[example.key]
        result.examples.append(Example(example.key, consultation.received_at,
                                       list(consultation.topics or []),
                                       list(example.before), list(example.after)))
    audit.record(session, actor, "replay", "ruleset", None, purpose="rules.preview",
                 detail={"months": months, "total": report.total, "changed": report.changed,
                         "consultations": [e.consultation_id for e in result.examples]})
    session.commit()
    return result


def adopt_text(session: Session, actor: Actor, text: str,
               mimetype: str | None = None) -> RuleSetVersion:
    """Validate a whole rule file against the directory and adopt it as the next version."""
    return adopt(session, actor, parse_text(text, mimetype))


def adopt(session: Session, actor: Actor, data: dict, *,
          copied_from: int | None = None) -> RuleSetVersion:
    try:
        row = routing.adopt(session, data, actor.user_id)
    except rules.RuleSetInvalid as exc:
        session.rollback()
        raise refused(exc.problems) from exc
    detail = {"rules": len(data.get("rules") or [])}
    if copied_from is not None:
        detail["copied_from"] = copied_from
    audit.record(session, actor, "update", "ruleset", row.version, detail=detail)
    session.commit()
    return row


def readopt(session: Session, actor: Actor, version: int) -> RuleSetVersion:
    """Adopt an earlier version again, as a new version: history is never rewritten."""
    source = session.scalar(select(RuleSetVersion.source)
                            .where(RuleSetVersion.version == version))
    if source is None:
        raise NotFound(f"ルールセットの版 {version} はありません（no rule set version {version}）")
    return adopt(session, actor, dict(source), copied_from=version)


def history(session: Session) -> list[VersionRow]:
    rows = session.execute(select(RuleSetVersion, User.name)
                           .outerjoin(User, User.id == RuleSetVersion.created_by_id)
                           .order_by(RuleSetVersion.version.desc())).all()
    newest = rows[0][0].version if rows else None
    copied = _copied_from(session)
    return [VersionRow(row.version, row.created_at, name, _label(row.source),
                       len(row.source.get("rules") or []), row.version == newest,
                       copied.get(row.version))
            for row, name in rows]


def _copied_from(session: Session) -> dict[int, int]:
    """Which versions were earlier ones adopted again (from the audit log, which says so)."""
    from caseapp.models import AuditEntry

    found = {}
    for resource_id, detail in session.execute(
            select(AuditEntry.resource_id, AuditEntry.detail).where(
                AuditEntry.resource_type == "ruleset", AuditEntry.action == "update")):
        if resource_id and resource_id.isdigit() and (detail or {}).get("copied_from"):
            found[int(resource_id)] = detail["copied_from"]
    return found


def _label(source: dict) -> str | None:
    label = source.get("version")
    return None if label is None else str(label)


def source_text(session: Session, version: int | None = None) -> str:
    """A version's rules as YAML to edit (the active one by default); the
    shipped set while nothing has been adopted."""
    query = select(RuleSetVersion.source)
    if version is None:
        source = session.scalar(query.order_by(RuleSetVersion.version.desc()).limit(1))
        source = source if source is not None else rules.nankoku_ruleset_data()
    else:
        source = session.scalar(query.where(RuleSetVersion.version == version))
    if source is None:
        raise NotFound(f"ルールセットの版 {version} はありません（no rule set version {version}）")
    return yaml.safe_dump(source, allow_unicode=True, sort_keys=False, width=100)
