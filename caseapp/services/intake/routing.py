"""The active rule set, compiled once per version and shared by every request."""

import functools
import threading
from dataclasses import dataclass
from datetime import date, datetime, time

from sqlalchemy import Text, bindparam, cast, func, literal_column, select, true
from sqlalchemy.dialects.postgresql import aggregate_order_by
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
    return _active(session, row)


def _active(session: Session, row) -> tuple[int | None, rules.CompiledRuleSet]:
    if row is None or row.id is None:
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


@dataclass(frozen=True)
class Directory:
    """What routing a consultation needs: the active rule set and the partners in view."""

    ruleset_version: int | None
    ruleset: rules.CompiledRuleSet
    partners: dict[str, dict]  # by code: the partner's column values


# Per process, by the partner layers in view; a stamp of the table says when to read it again.
_directories: dict[tuple | None, tuple[tuple, dict[str, dict]]] = {}


def directory(session: Session) -> Directory:
    """The active rule set and the partner directory, with one statement when this process
    has both already: the rule set's latest version and a stamp of the partners table.

    The stamp is the partner count and, on PostgreSQL, a hash of the rows' ids and ``xmin``s,
    which every committed insert, update or delete changes, whoever wrote it; SQLite's writers are
    serial, so there the latest ``updated_at`` says the same. Core, so the scope's criteria
    are applied here: the rule sets of the scope's municipalities, the partners of its layers
    (row-level security agrees on PostgreSQL).
    """
    visible = scope.current(session)
    network = visible.network if visible is not None else None
    towns = visible.municipalities if visible is not None else None
    params = {}
    if network is not None:
        params["network"] = list(network)
    if towns is not None:
        params["towns"] = list(towns)
    statement = _check(session.get_bind().dialect.name, network is not None, towns is not None)
    row = session.execute(statement, params).one()
    version, compiled = _active(session, row)
    stamp = (row.partner_count, row.partner_stamp)
    with _lock:
        cached = _directories.get(network)
    if cached is None or cached[0] != stamp:
        table = Partner.__table__
        load = select(table).execution_options(**{scope.UNSCOPED: True})
        if network is not None:
            load = load.where(table.c.area_id.in_(network))
        partners = {r.code: dict(r._mapping) for r in session.execute(load)}
        # Read after the stamp: at worst newer than it, which only means one more read.
        cached = (stamp, partners)
        with _lock:
            _directories[network] = cached
    return Directory(version, compiled, cached[1])


@functools.cache
def _check(dialect: str, by_network: bool, by_town: bool):
    partners, rule_sets = Partner.__table__, RuleSetVersion.__table__
    if dialect == "postgresql":
        # Each row's id with its xmin, hashed in id order: a sum of xmins could come out the same
        # after two rows changed.
        stamp = func.md5(func.string_agg(
            cast(partners.c.id, Text).concat(":").concat(cast(literal_column("xmin"), Text)),
            aggregate_order_by(literal_column("','"), partners.c.id)))
    else:
        stamp = func.max(partners.c.updated_at)
    stats = select(func.count().label("partner_count"), stamp.label("partner_stamp"))
    if by_network:
        stats = stats.where(partners.c.area_id.in_(bindparam("network", expanding=True)))
    stats = stats.select_from(partners).subquery()
    latest = select(rule_sets.c.id, rule_sets.c.version, rule_sets.c.created_at)
    if by_town:
        latest = latest.where(rule_sets.c.municipality_id.in_(bindparam("towns", expanding=True)))
    latest = latest.order_by(rule_sets.c.version.desc()).limit(1).subquery()
    return (select(stats.c.partner_count, stats.c.partner_stamp, latest.c.id, latest.c.version,
                   latest.c.created_at)
            .select_from(stats.outerjoin(latest, true()))
            .execution_options(**{scope.UNSCOPED: True}))


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
