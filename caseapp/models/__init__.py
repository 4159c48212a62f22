"""The database model. Import from here so Alembic and the services see every table."""

from caseapp.models.alerts import StaffAlert
from caseapp.models.audit import AuditEntry
from caseapp.models.cases import Case
from caseapp.models.clients import Client, ClientBigram
from caseapp.models.community import (
    Area,
    AreaAddressKey,
    AreaTreeVersion,
    CommunityTask,
    Meeting,
    MeetingReview,
    Member,
    PlanEvaluation,
    PlanItem,
    WatchDisclosure,
    WatchEntry,
    WatchVisit,
)
from caseapp.models.consents import Consent, SupportMeeting
from caseapp.models.consultations import (
    Consultation,
    ConsultationTopic,
    Emergency,
    RoutingDecision,
)
from caseapp.models.disclosures import Disclosure
from caseapp.models.events import ConsultationTeam, ConsultationTeamPartner, Event
from caseapp.models.households import Household, HouseholdMember
from caseapp.models.partners import Partner
from caseapp.models.referrals import (
    AckCode,
    AckLinkUse,
    Delivery,
    DeliveryAttempt,
    Referral,
    ReferralEvent,
    SafetyReview,
)
from caseapp.models.reminders import Reminder, StaffNotice
from caseapp.models.reports import ReportMonthRollup
from caseapp.models.rights import UseStop
from caseapp.models.rules import RuleSetVersion
from caseapp.models.transfers import CaseTransfer
from caseapp.models.users import ApiToken, User, WebSession

__all__ = [
    "AckCode",
    "AckLinkUse",
    "ApiToken",
    "Area",
    "AreaAddressKey",
    "AreaTreeVersion",
    "AuditEntry",
    "Case",
    "CaseTransfer",
    "Client",
    "ClientBigram",
    "CommunityTask",
    "Consent",
    "Consultation",
    "ConsultationTeam",
    "ConsultationTeamPartner",
    "ConsultationTopic",
    "Delivery",
    "DeliveryAttempt",
    "Disclosure",
    "Emergency",
    "Event",
    "Household",
    "HouseholdMember",
    "Meeting",
    "MeetingReview",
    "Member",
    "Partner",
    "PlanEvaluation",
    "PlanItem",
    "Referral",
    "ReferralEvent",
    "Reminder",
    "ReportMonthRollup",
    "RoutingDecision",
    "RuleSetVersion",
    "SafetyReview",
    "StaffAlert",
    "StaffNotice",
    "SupportMeeting",
    "UseStop",
    "User",
    "WatchDisclosure",
    "WatchEntry",
    "WatchVisit",
    "WebSession",
]
