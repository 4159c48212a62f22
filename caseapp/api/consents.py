"""The legal basis for sharing: consents, their withdrawal, and support meetings (支援会議)."""

from flask_smorest import Blueprint

from caseapp.api.auth import current_actor, requires
from caseapp.api.schemas.consents import (
    ConsentGivenOut,
    ConsentIn,
    ConsentWithdrawnOut,
    SupportMeetingIn,
    SupportMeetingOut,
)
from caseapp.extensions import db
from caseapp.permissions import Permission
from caseapp.services.legal import consents

blp = Blueprint("consents", __name__, url_prefix="/api/v1",
                description="情報共有の同意と支援会議 (legal basis for referrals)")


@blp.route("/clients/<int:client_id>/consents", methods=["POST"])
@blp.arguments(ConsentIn)
@blp.response(201, ConsentGivenOut)
@requires(Permission.CONSENTS_WRITE)
def give(data, client_id):
    """Record a consent; referrals waiting for it are released and sent."""
    return consents.give(db.session, current_actor(), client_id, data)


@blp.route("/consents/<int:consent_id>/withdraw", methods=["POST"])
@blp.response(200, ConsentWithdrawnOut)
@requires(Permission.CONSENTS_WRITE)
def withdraw(consent_id):
    """Withdraw a consent; referrals not yet sent on it go back to `awaiting_consent`."""
    return consents.withdraw(db.session, current_actor(), consent_id)


@blp.route("/cases/<int:case_id>/support-meeting", methods=["POST"])
@blp.arguments(SupportMeetingIn)
@blp.response(201, SupportMeetingOut)
@requires(Permission.SUPPORT_MEETINGS_WRITE)
def support_meeting(data, case_id):
    """Record a 支援会議 (law, date, members): the case's referrals to members are released."""
    return consents.record_support_meeting(db.session, current_actor(), case_id, data)
