"""The municipality boundary, kept in one place: every ORM query of a scoped session.

A request's actor sets the session's scope (:func:`enter`); from then on every ORM SELECT of the
session — lists, searches, counts, ``session.get``, lazy loads, refreshes — carries criteria
(SQLAlchemy ``with_loader_criteria``) that leave out rows of other municipalities, and new rows are
stamped with the actor's municipality. Services do not repeat the check. PostgreSQL row-level
security enforces the same boundary a second time from the per-transaction setting
``caseapp.municipality`` (a comma-separated list of area ids, ``*`` for unscoped work).

Beat and worker tasks and the CLI run unscoped on purpose: they sweep every municipality's
deliveries, reminders and retention, and act as the system, not as a person.
"""

import functools
from dataclasses import dataclass, field

from sqlalchemy import String, cast, event, or_, select, text
from sqlalchemy.orm import Session, scoped_session, with_loader_criteria

from caseapp.domain.community import AreaLevel
from caseapp.models import (
    AckCode,
    AckLinkUse,
    Area,
    AuditEntry,
    Case,
    CaseTransfer,
    Client,
    ClientBigram,
    CommunityTask,
    Consent,
    Consultation,
    ConsultationTeam,
    ConsultationTopic,
    Delivery,
    Disclosure,
    Emergency,
    Event,
    Household,
    HouseholdMember,
    Meeting,
    Member,
    Partner,
    PlanItem,
    Referral,
    ReferralEvent,
    Reminder,
    ReportMonthRollup,
    RoutingDecision,
    RuleSetVersion,
    SafetyReview,
    StaffAlert,
    SupportMeeting,
    User,
    UseStop,
    WatchDisclosure,
    WatchEntry,
)
from caseapp.services.core.actors import Actor

# Tables that carry their own municipality; the rest follow the row they hang from.
OWNED = (Client, Case, Consultation, Event, RuleSetVersion, Referral, Household)
UNSCOPED = "caseapp_unscoped"  # execution option: a global read (hash chain, uniqueness)


@dataclass(frozen=True)
class Scope:
    """What one actor may see: rows of ``municipalities``, partners of ``network`` areas."""

    municipalities: tuple[int, ...]
    # Areas visible: the municipalities' subtrees and the areas above them.
    areas: tuple[int, ...] = ()
    # Partner layers visible (None: every partner, as for a partner user itself).
    network: tuple[int, ...] | None = ()
    # The municipality new rows are stamped with (staff); None for a partner.
    own: int | None = None
    options: tuple = field(default=(), compare=False)
    # For loads through a relationship of a visible row: a referral's partner stays readable
    # after its case moved to a town whose network does not hold that partner.
    related: tuple = field(default=(), compare=False)

    @property
    def setting(self) -> str:
        return ",".join(str(m) for m in self.municipalities) or "0"


def _tree(session: Session) -> tuple[dict[int, int | None], dict[int, str]]:
    rows = session.execute(select(Area.id, Area.parent_id, Area.level)
                           .execution_options(**{UNSCOPED: True})).all()
    return {r.id: r.parent_id for r in rows}, {r.id: r.level for r in rows}


def _below(parents: dict[int, int | None], root: int) -> set[int]:
    found = {root}
    changed = True
    while changed:
        more = {child for child, parent in parents.items() if parent in found} - found
        changed = bool(more)
        found |= more
    return found


def _above(parents: dict[int, int | None], ident: int | None) -> list[int]:
    chain = []
    while ident is not None and ident not in chain:
        chain.append(ident)
        ident = parents.get(ident)
    return chain


def for_actor(session: Session, actor: Actor, municipality_id: int | None) -> Scope:
    """The scope of a signed-in actor; a staff user without a municipality sees nothing."""
    parents, levels = _tree(session)
    if actor.role == "partner":
        partner = session.execute(select(Partner.area_id).where(Partner.id == actor.partner_id)
                                  .execution_options(**{UNSCOPED: True})).scalar()
        served = _below(parents, partner) if partner is not None else set()
        municipalities = tuple(sorted(a for a in served if levels[a] == AreaLevel.MUNICIPALITY))
        return _build(parents, municipalities, network=None, own=None)
    if actor.role == "prefecture" and municipality_id is not None:
        # Its area is the prefecture (or a block): every municipality below, for counting only.
        below = _below(parents, municipality_id)
        towns = tuple(sorted(a for a in below if levels[a] == AreaLevel.MUNICIPALITY))
        return _build(parents, towns, network=None, own=None)
    if municipality_id is None:
        return _build(parents, (), network=(), own=None)
    return _build(parents, (municipality_id,), network=tuple(_above(parents, municipality_id)),
                  own=municipality_id)


def for_municipality(session: Session, municipality_id: int) -> Scope:
    parents, _levels = _tree(session)
    return _build(parents, (municipality_id,), network=tuple(_above(parents, municipality_id)),
                  own=municipality_id)


def _build(parents, municipalities, *, network, own) -> Scope:
    return _built(tuple(sorted(parents.items())), tuple(municipalities), network, own)


# Building the criteria cost more CPU than a request's queries: they are built once per area
# tree and scope, and shared (SQL expressions are immutable).
@functools.lru_cache(maxsize=256)
def _built(tree, municipalities, network, own) -> Scope:
    parents = dict(tree)
    areas: set[int] = set()
    for m in municipalities:
        areas |= _below(parents, m) | set(_above(parents, m))
    municipalities, areas = tuple(municipalities), tuple(sorted(areas))
    scope = Scope(municipalities, areas, network)
    return Scope(municipalities, areas, network, own, _criteria(scope),
                 _criteria(scope, partners=False))


def _ids(model, m):
    return select(model.id).where(model.municipality_id.in_(m))


def _audit_rule(m):
    # The municipality's own staff, and anyone's access to its people, cases and referrals
    # (partner reads, the system's work), so a person's audit answer is whole.
    return or_(AuditEntry.actor_id.in_(_ids(User, m)),
               *((AuditEntry.resource_type == kind)
                 & AuditEntry.resource_id.in_(select(cast(model.id, String(50)))
                                              .where(model.municipality_id.in_(m)))
                 for kind, model in (("referral", Referral), ("client", Client),
                                     ("case", Case))))


def _criteria(scope: Scope, *, partners: bool = True) -> tuple:
    """Lambdas, not expressions: SQLAlchemy keys its statement cache on the lambda's code and
    takes the ids as bound values, where an expression's every node is walked per statement."""
    m = list(scope.municipalities)
    local = list(scope.areas)
    network = list(scope.network or ())
    rules = [(model, lambda cls: cls.municipality_id.in_(m)) for model in OWNED]
    rules += [
        (User, lambda cls: or_(cls.municipality_id.in_(m), cls.municipality_id.is_(None))),
        (ClientBigram, lambda cls: cls.client_id.in_(_ids(Client, m))),
        (Consent, lambda cls: cls.client_id.in_(_ids(Client, m))),
        (HouseholdMember, lambda cls: cls.client_id.in_(_ids(Client, m))),
        (UseStop, lambda cls: cls.client_id.in_(_ids(Client, m))),
        (WatchEntry, lambda cls: cls.client_id.in_(_ids(Client, m))),
        (WatchDisclosure, lambda cls: cls.client_id.in_(_ids(Client, m))),
        (SupportMeeting, lambda cls: cls.case_id.in_(_ids(Case, m))),
        (Emergency, lambda cls: cls.case_id.in_(_ids(Case, m))),
        (Reminder, lambda cls: cls.case_id.in_(_ids(Case, m))),
        (ConsultationTopic, lambda cls: cls.consultation_id.in_(_ids(Consultation, m))),
        (RoutingDecision, lambda cls: cls.consultation_id.in_(_ids(Consultation, m))),
        (ConsultationTeam, lambda cls: cls.consultation_id.in_(_ids(Consultation, m))),
        (ReferralEvent, lambda cls: cls.referral_id.in_(_ids(Referral, m))),
        (Delivery, lambda cls: cls.referral_id.in_(_ids(Referral, m))),
        (AckCode, lambda cls: cls.referral_id.in_(_ids(Referral, m))),
        (AckLinkUse, lambda cls: cls.referral_id.in_(_ids(Referral, m))),
        (Disclosure, lambda cls: cls.referral_id.in_(_ids(Referral, m))),
        (SafetyReview, lambda cls: cls.referral_id.in_(_ids(Referral, m))),
        # A role-wide alert tied to no referral (a partner endpoint gone) names no person.
        (StaffAlert, lambda cls: or_(cls.referral_id.in_(_ids(Referral, m)),
                                     cls.user_id.in_(_ids(User, m)),
                                     cls.referral_id.is_(None) & cls.user_id.is_(None))),
        (AuditEntry, lambda cls: _audit_rule(m)),
        (CaseTransfer, lambda cls: or_(cls.from_municipality_id.in_(m),
                                       cls.to_municipality_id.in_(m))),
        # The report rollup's rows of the municipality (the all-municipalities row is not).
        (ReportMonthRollup, lambda cls: cls.municipality_id.in_(m)),
        (Area, lambda cls: cls.id.in_(local)),
        (Member, lambda cls: cls.area_id.in_(local)),
        (Meeting, lambda cls: cls.area_id.in_(local)),
        (PlanItem, lambda cls: cls.area_id.in_(local)),
        (CommunityTask, lambda cls: cls.area_id.in_(local)),
    ]
    if scope.network is not None and partners:
        rules.append((Partner, lambda cls: cls.area_id.in_(network)))
    # Not carried into lazy loads: those get the relationship set (``related``) instead.
    return tuple(with_loader_criteria(model, expr, propagate_to_loaders=model is not Partner)
                 for model, expr in rules)


def enter(session: Session, scope: Scope) -> None:
    """Scope the session from now on; what it already holds is reloaded under the scope."""
    session = _real(session)
    session.info["scope"] = scope
    session.expire_all()
    if session.in_transaction():
        _set_local(session.connection(), scope)


def allow(session: Session, municipalities) -> None:
    """Let the current transaction write rows of these municipalities too (a handover)."""
    session = _real(session)
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT set_config('caseapp.municipality', :value, true)"),
                        {"value": ",".join(str(m) for m in municipalities)})


def leave(session: Session) -> None:
    """Unscoped from now on, the rest of the open transaction included (row-level security
    reads the setting, not the session's info)."""
    session = _real(session)
    if session.info.pop("scope", None) is not None and session.in_transaction():
        _set_local(session.connection(), None)


def _real(session):
    return session() if isinstance(session, scoped_session) else session


def current(session: Session) -> Scope | None:
    return session.info.get("scope")


def _set_local(connection, scope: Scope | None) -> None:
    if connection.dialect.name != "postgresql":
        return
    connection.execute(text("SELECT set_config('caseapp.municipality', :value, true)"),
                       {"value": scope.setting if scope else "*"})


def default_municipality(session: Session) -> int | None:
    """The municipality of work done outside a scope: the only one there is (None if several)."""
    ids = session.execute(select(Area.id).where(Area.level == AreaLevel.MUNICIPALITY).limit(2)
                          .execution_options(**{UNSCOPED: True})).scalars().all()
    return ids[0] if len(ids) == 1 else None


def _stamp(session: Session, _context, _instances) -> None:
    fresh = [obj for obj in session.new
             if isinstance(obj, (*OWNED, User, Partner))]
    if not fresh:
        return
    scope = current(session)
    default: list[int | None] = []

    def fallback() -> int | None:
        if scope is not None and scope.own is not None:
            return scope.own
        if not default:
            with session.no_autoflush:
                default.append(default_municipality(session))
        return default[0]

    for obj in fresh:
        if isinstance(obj, Partner):
            if obj.area_id is None:
                obj.area_id = fallback()
            continue
        if obj.municipality_id is not None:
            continue
        if isinstance(obj, User):
            if obj.partner_id is None and obj.partner is None and obj.role != "partner":
                obj.municipality_id = fallback()
            continue
        obj.municipality_id = _from_parent(session, obj) or fallback()


def _from_parent(session: Session, obj) -> int | None:
    """A row made for a client or case belongs where that client or case belongs."""
    for name, model in (("case", Case), ("client", Client)):
        parent = obj.__dict__.get(name)
        if parent is None and getattr(obj, f"{name}_id", None) is not None:
            with session.no_autoflush:
                parent = session.get(model, getattr(obj, f"{name}_id"))
        if parent is not None and getattr(parent, "municipality_id", None):
            return parent.municipality_id
    return None


def _scope_queries(state) -> None:
    scope = current(state.session)
    if scope is None or not state.is_select or state.execution_options.get(UNSCOPED):
        return
    options = scope.related if state.is_relationship_load else scope.options
    state.statement = state.statement.options(*options)


def _on_begin(session: Session, _transaction, connection) -> None:
    # A transaction starts with the setting empty, which is unscoped: there is only something
    # to set for a scope, or in a savepoint of a transaction a scope may have set (tests).
    scope = current(session)
    if scope is not None or connection.in_nested_transaction():
        _set_local(connection, scope)


def install(session_class) -> None:
    if event.contains(session_class, "do_orm_execute", _scope_queries):
        return
    event.listen(session_class, "do_orm_execute", _scope_queries)
    event.listen(session_class, "before_flush", _stamp)
    event.listen(session_class, "after_begin", _on_begin)
