"""The database model. Import from here so Alembic and the services see every table."""

from caseapp.models.audit import AuditEntry
from caseapp.models.clients import Client, ClientBigram, Consent
from caseapp.models.consultations import (
    Case,
    Consultation,
    ConsultationTopic,
    Event,
    RoutingDecision,
)
from caseapp.models.households import Household, HouseholdMember
from caseapp.models.partners import Partner
from caseapp.models.referrals import Delivery, DeliveryAttempt, Referral, ReferralEvent
from caseapp.models.rules import RuleSetVersion
from caseapp.models.users import ApiToken, User

__all__ = [
    "ApiToken",
    "AuditEntry",
    "Case",
    "Client",
    "ClientBigram",
    "Consent",
    "Consultation",
    "ConsultationTopic",
    "Delivery",
    "DeliveryAttempt",
    "Event",
    "Household",
    "HouseholdMember",
    "Partner",
    "Referral",
    "ReferralEvent",
    "RoutingDecision",
    "RuleSetVersion",
    "User",
]
