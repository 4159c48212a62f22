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

from sqlalchemy import String, bindparam, cast, event, or_, select, text
from sqlalchemy.orm import Session, scoped_session, with_loader_criteria

from caseapp.domain.community import AreaLevel
from caseapp.models import (
    Area,
    AreaTreeVersion,
    AuditEntry,
    Case,
    CaseTransfer,
    Client,
    Consultation,
    Partner,
    Referral,
    ReportMonthRollup,
    StaffAlert,
    User,
)
from caseapp.models.belonging import (
    InArea,
    Municipal,
    OfCase,
    OfClient,
    OfConsultation,
    OfReferral,
)
from caseapp.services.core.actors import Actor

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
    # The area tree's version it was made from, and how to make it again from a newer tree.
    version: int | None = field(default=None, compare=False)
    recipe: tuple = field(default=(), compare=False)
    # The ids the rules of ``options`` and ``related`` take, by parameter name.
    params: dict = field(default_factory=dict, compare=False)

    @property
    def setting(self) -> str:
        return ",".join(str(m) for m in self.municipalities) or "0"


# The area tree as this process last read it. Areas change rarely (a municipality's import);
# a trigger then changes ``area_tree_version``, which every scoped transaction reads with its
# setting, in one round trip.
class _Tree:
    """Hashed by identity: the scopes made from it are cached per tree read."""

    __slots__ = ("levels", "parents", "version")

    def __init__(self, version, parents: dict[int, int | None], levels: dict[int, str]):
        self.version, self.parents, self.levels = version, parents, levels


_tree: _Tree | None = None
_VERSION = select(AreaTreeVersion.version).where(AreaTreeVersion.id == 1)


def _read_tree(connection) -> _Tree:
    global _tree
    version = connection.execute(_VERSION).scalar()
    rows = connection.execute(select(Area.id, Area.parent_id, Area.level)).all()
    _tree = _Tree(version, {r.id: r.parent_id for r in rows}, {r.id: r.level for r in rows})
    return _tree


def _known_tree(session: Session) -> _Tree:
    return _tree or _read_tree(_real(session).connection())


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
    if actor.role == "partner":
        partner = session.execute(select(Partner.area_id).where(Partner.id == actor.partner_id)
                                  .execution_options(**{UNSCOPED: True})).scalar()
        return _scope(session, ("served", partner))
    if actor.role == "prefecture" and municipality_id is not None:
        return _scope(session, ("below", municipality_id))
    if municipality_id is None:
        return _scope(session, ("none", None))
    return _scope(session, ("town", municipality_id))


def for_municipality(session: Session, municipality_id: int) -> Scope:
    return _scope(session, ("town", municipality_id))


def _scope(session: Session, recipe: tuple) -> Scope:
    # From the tree this process holds; entering the scope checks it is still the database's.
    return _made(_known_tree(session), recipe)


# A scope's areas and parameters, worked out once per area tree and recipe; the rules
# themselves are module constants (``WITH_NETWORK``, ``RELATED``).
@functools.lru_cache(maxsize=256)
def _made(tree: _Tree, recipe: tuple) -> Scope:
    version, parents, levels = tree.version, tree.parents, tree.levels
    kind, area = recipe
    if kind in ("served", "below"):
        # A partner sees the municipalities its layer serves; a prefecture user those below its
        # area, for counting only.
        below = _below(parents, area) if area is not None else set()
        municipalities = tuple(sorted(a for a in below if levels.get(a) == AreaLevel.MUNICIPALITY))
        network, own = None, None
    elif kind == "none":
        municipalities, network, own = (), (), None
    else:
        municipalities, network, own = (area,), tuple(_above(parents, area)), area
    areas: set[int] = set()
    for m in municipalities:
        areas |= _below(parents, m) | set(_above(parents, m))
    areas = tuple(sorted(areas))
    params = {TOWNS: list(municipalities), AREAS: list(areas), NETWORK: list(network or ())}
    return Scope(municipalities, areas, network, own,
                 WITH_NETWORK if network is not None else RELATED, RELATED, version, recipe,
                 params)


# The scope's ids reach the rules as parameters of these names, given with each statement
# (``_scope_queries``): the rules themselves are the same for every scope.
TOWNS, AREAS, NETWORK = "caseapp_scope_towns", "caseapp_scope_areas", "caseapp_scope_network"


def _towns():
    return bindparam(TOWNS, expanding=True)


def _areas():
    return bindparam(AREAS, expanding=True)


def _network():
    return bindparam(NETWORK, expanding=True)


def _ids(model):
    # The table, not the entity: the ORM would give this sub-query the same rule again.
    table = model.__table__
    return select(table.c.id).where(table.c.municipality_id.in_(_towns()))


def _audit_rule():
    # The municipality's own staff, and anyone's access to its people, cases and referrals
    # (partner reads, the system's work), so a person's audit answer is whole.
    return or_(AuditEntry.actor_id.in_(_ids(User)),
               *((AuditEntry.resource_type == kind)
                 & AuditEntry.resource_id.in_(select(cast(model.__table__.c.id, String(50)))
                                              .where(model.__table__.c.municipality_id
                                                     .in_(_towns())))
                 for kind, model in (("referral", Referral), ("client", Client),
                                     ("case", Case))))


def _criteria(*, partners: bool) -> tuple:
    """Lambdas, not expressions: SQLAlchemy keys its statement cache on the lambda's code, where
    an expression's every node is walked per statement. One rule per kind of belonging
    (``caseapp.models.belonging``), not per table, and the ids as named parameters, not values
    the rules close over: each option and each tracked value cost every statement its share of
    the cache key and of the parameters' processing."""
    rules = [
        (Municipal, lambda cls: cls.municipality_id.in_(_towns())),
        (User, lambda cls: or_(cls.municipality_id.in_(_towns()), cls.municipality_id.is_(None))),
        (OfClient, lambda cls: cls.client_id.in_(_ids(Client))),
        (OfCase, lambda cls: cls.case_id.in_(_ids(Case))),
        (OfConsultation, lambda cls: cls.consultation_id.in_(_ids(Consultation))),
        (OfReferral, lambda cls: cls.referral_id.in_(_ids(Referral))),
        # A role-wide alert tied to no referral (a partner endpoint gone) names no person.
        (StaffAlert, lambda cls: or_(cls.referral_id.in_(_ids(Referral)),
                                     cls.user_id.in_(_ids(User)),
                                     cls.referral_id.is_(None) & cls.user_id.is_(None))),
        (AuditEntry, lambda cls: _audit_rule()),
        (CaseTransfer, lambda cls: or_(cls.from_municipality_id.in_(_towns()),
                                       cls.to_municipality_id.in_(_towns()))),
        # The report rollup's rows of the municipality (the all-municipalities row is not).
        (ReportMonthRollup, lambda cls: cls.municipality_id.in_(_towns())),
        (Area, lambda cls: cls.id.in_(_areas())),
        (InArea, lambda cls: cls.area_id.in_(_areas())),
    ]
    if partners:
        rules.append((Partner, lambda cls: cls.area_id.in_(_network())))
    # Aliases too: a marker's rule reaches its tables only that way, and an aliased table in
    # a subquery is as much the other town's as the plain one. Not carried into lazy loads:
    # every relationship load gets the relationship set (``RELATED``) from ``_scope_queries``
    # with the parameters, and carried ones could outlive the scope that gives them.
    return tuple(with_loader_criteria(model, expr, include_aliases=True,
                                      propagate_to_loaders=False)
                 for model, expr in rules)


# A staff user's statements; a partner's, a prefecture user's and relationship loads see every
# partner (a referral's partner stays readable after its case moved to another town's network).
WITH_NETWORK = _criteria(partners=True)
RELATED = _criteria(partners=False)


def enter(session: Session, scope: Scope) -> None:
    """Scope the session from now on; what it already holds is reloaded under the scope."""
    session = _real(session)
    session.info["scope"] = scope
    session.expire_all()
    if session.in_transaction():
        _apply(session, session.connection(), scope)
    else:
        # Begun now, not at the first query (which begins it after taking the scope's
        # criteria): the new transaction's check may remake the scope from a newer tree.
        session.connection()


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


# Sent through the driver itself: this runs once per scoped transaction, and SQLAlchemy's
# statement handling would cost it twice the CPU of the round trip.
_SET_AND_CHECK = ("SELECT set_config('caseapp.municipality', %s, true), "
                  "(SELECT version FROM area_tree_version WHERE id = 1)")


def _apply(session: Session, connection, scope: Scope) -> None:
    """Set the transaction's scope and, in the same round trip, check that the area tree it
    was made from is still the database's; if not, make it again from the tree as it is."""
    if connection.dialect.name == "postgresql":
        version = connection.connection.driver_connection.execute(
            _SET_AND_CHECK, (scope.setting,)).fetchone()[1]
    else:
        version = connection.execute(_VERSION).scalar()
    if version == scope.version or not scope.recipe:
        return
    tree = _tree if _tree is not None and _tree.version == version else _read_tree(connection)
    fresh = _made(tree, scope.recipe)
    session.info["scope"] = fresh
    if fresh.setting != scope.setting:
        _set_local(connection, fresh)


def default_municipality(session: Session) -> int | None:
    """The municipality of work done outside a scope: the only one there is (None if several)."""
    ids = session.execute(select(Area.id).where(Area.level == AreaLevel.MUNICIPALITY).limit(2)
                          .execution_options(**{UNSCOPED: True})).scalars().all()
    return ids[0] if len(ids) == 1 else None


def _stamp(session: Session, _context, _instances) -> None:
    fresh = [obj for obj in session.new
             if isinstance(obj, (Municipal, User, Partner))]
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
    session = state.session
    scope = current(session)
    if scope is None or not state.is_select or state.execution_options.get(UNSCOPED):
        return
    if not session.in_transaction():
        session.connection()  # begins: the new transaction's check may remake the scope
        scope = current(session)
    options = scope.related if state.is_relationship_load else scope.options
    state.statement = state.statement.options(*options)
    state.parameters = {**state.parameters, **scope.params} if state.parameters \
        else scope.params


def _on_begin(session: Session, _transaction, connection) -> None:
    # A transaction starts with the setting empty, which is unscoped: there is only something
    # to set for a scope, or in a savepoint of a transaction a scope may have set (tests).
    scope = current(session)
    if scope is not None:
        _apply(session, connection, scope)
    elif connection.in_nested_transaction():
        _set_local(connection, None)


def install(session_class) -> None:
    if event.contains(session_class, "do_orm_execute", _scope_queries):
        return
    event.listen(session_class, "do_orm_execute", _scope_queries)
    event.listen(session_class, "before_flush", _stamp)
    event.listen(session_class, "after_begin", _on_begin)
