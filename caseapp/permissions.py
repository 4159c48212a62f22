"""Who may do what: pure data and one pure function; the API turns a "no" into 403."""

from enum import StrEnum


class Permission(StrEnum):
    CLIENTS_READ = "staff:clients:read"
    CLIENTS_WRITE = "staff:clients:write"
    CLIENTS_MERGE = "staff:clients:merge"
    CONSENTS_WRITE = "staff:consents:write"
    CONSULTATIONS_READ = "staff:consultations:read"
    CONSULTATIONS_WRITE = "staff:consultations:write"
    CASES_READ = "staff:cases:read"
    CASES_WRITE = "staff:cases:write"
    CASES_TRANSFER = "supervisor:cases:transfer"
    REFERRALS_READ = "staff:referrals:read"
    REFERRALS_WRITE = "staff:referrals:write"
    PARTNERS_READ = "staff:partners:read"
    PARTNERS_ADMIN = "admin:partners:write"
    RULES_READ = "staff:rules:read"
    RULES_ADMIN = "admin:rules:write"
    EVENTS_READ = "staff:events:read"
    EVENTS_WRITE = "staff:events:write"
    REMINDERS_READ = "staff:reminders:read"
    AUDIT_READ = "supervisor:audit:read"
    REPORTS_READ = "supervisor:reports:read"
    PARTNER_REFERRALS_READ = "partner:referrals:read"
    PARTNER_REFERRALS_UPDATE = "partner:referrals:update"
    ALERTS_READ = "staff:alerts:read"
    SUPPORT_MEETINGS_WRITE = "supervisor:support_meetings:write"
    SAFETY_REVIEW = "supervisor:referrals:review"
    CLIENTS_EXPORT = "supervisor:clients:export"
    CLIENTS_STOP_USE = "supervisor:clients:stop_use"
    METRICS_READ = "admin:metrics:read"
    # The community layer: "community:" permissions are held by staff and community members
    # alike; what a member then sees is narrowed by the services (own 小地域, fewest fields).
    AREAS_READ = "community:areas:read"
    AREAS_ADMIN = "admin:areas:write"
    WATCH_READ = "community:watch:read"
    WATCH_WRITE = "staff:watch:write"
    VISITS_WRITE = "community:visits:write"
    MEETINGS_READ = "community:meetings:read"
    MEETINGS_WRITE = "staff:meetings:write"
    PLANS_READ = "community:plans:read"
    PLANS_WRITE = "staff:plans:write"
    MEMBERS_READ = "staff:members:read"
    COMMUNITY_QUEUE = "staff:community_queue:write"
    USERS_ADMIN = "admin:users:write"
    # The prefecture council: counts per municipality and block, nothing personal.
    PREFECTURE_REPORTS_READ = "prefecture:reports:read"


# Marks a view of the web console: it checks its own sign-in (a session cookie, not a token).
CONSOLE = "console"

ROLES = ("counter", "supervisor", "admin", "partner", "member", "prefecture")
STAFF_ROLES = ("counter", "supervisor", "admin")

_COUNTER = frozenset({
    Permission.CLIENTS_READ, Permission.CLIENTS_WRITE, Permission.CONSENTS_WRITE,
    Permission.CLIENTS_MERGE,
    Permission.CONSULTATIONS_READ, Permission.CONSULTATIONS_WRITE,
    Permission.CASES_READ, Permission.CASES_WRITE,
    Permission.REFERRALS_READ, Permission.REFERRALS_WRITE,
    Permission.PARTNERS_READ, Permission.RULES_READ,
    Permission.EVENTS_READ, Permission.EVENTS_WRITE, Permission.REMINDERS_READ,
})
_COMMUNITY = frozenset({Permission.AREAS_READ, Permission.WATCH_READ, Permission.VISITS_WRITE,
                        Permission.MEETINGS_READ, Permission.PLANS_READ})
_COUNTER = _COUNTER | {Permission.ALERTS_READ} | _COMMUNITY | {
    Permission.WATCH_WRITE, Permission.MEETINGS_WRITE, Permission.PLANS_WRITE,
    Permission.MEMBERS_READ, Permission.COMMUNITY_QUEUE}
_SUPERVISOR = _COUNTER | {Permission.AUDIT_READ, Permission.REPORTS_READ,
                          Permission.SUPPORT_MEETINGS_WRITE, Permission.SAFETY_REVIEW,
                          Permission.CLIENTS_EXPORT,
                          Permission.CLIENTS_STOP_USE, Permission.CASES_TRANSFER}
_ADMIN = _SUPERVISOR | {Permission.PARTNERS_ADMIN, Permission.RULES_ADMIN,
                        Permission.METRICS_READ, Permission.AREAS_ADMIN, Permission.USERS_ADMIN}
_PARTNER = frozenset({Permission.PARTNER_REFERRALS_READ, Permission.PARTNER_REFERRALS_UPDATE})

GRANTS: dict[str, frozenset[Permission]] = {
    "counter": _COUNTER,
    "supervisor": frozenset(_SUPERVISOR),
    "admin": frozenset(_ADMIN),
    "partner": _PARTNER,
    "member": _COMMUNITY,
    "prefecture": frozenset({Permission.PREFECTURE_REPORTS_READ}),
}


def has_permission(role: str | None, permission: Permission) -> bool:
    return permission in GRANTS.get(role or "", frozenset())
