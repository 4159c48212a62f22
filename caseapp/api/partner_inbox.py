from flask_smorest import Blueprint

from caseapp.api.auth import current_actor, requires
from caseapp.api.schemas.referrals import (
    InboxListArgs,
    PartnerReferralOut,
    PartnerReferralPage,
    PartnerStatusIn,
)
from caseapp.extensions import db
from caseapp.permissions import Permission
from caseapp.services.referrals import inbox

blp = Blueprint("partner_inbox", __name__, url_prefix="/api/v1/partner",
                description="連携機関の受信箱: a partner's own referrals, minimal fields "
                            "(docs/partner-view.md)")


@blp.route("/referrals", methods=["GET"])
@blp.arguments(InboxListArgs, location="query")
@blp.response(200, PartnerReferralPage)
@requires(Permission.PARTNER_REFERRALS_READ)
def listing(args):
    """The calling partner's referrals, newest first; filter by `status`, `updated_since`."""
    return inbox.listing(db.session, current_actor(), statuses=args.get("status"),
                         updated_since=args.get("updated_since"), page=args["page"],
                         per_page=args["per_page"])


@blp.route("/referrals/<int:referral_id>", methods=["GET"])
@blp.response(200, PartnerReferralOut)
@requires(Permission.PARTNER_REFERRALS_READ)
def get(referral_id):
    """One of the calling partner's referrals; any other id is 404 (and audited)."""
    return inbox.get(db.session, current_actor(), referral_id)


@blp.route("/referrals/<int:referral_id>/status", methods=["POST"])
@blp.arguments(PartnerStatusIn)
@blp.response(200, PartnerReferralOut)
@requires(Permission.PARTNER_REFERRALS_UPDATE)
def set_status(data, referral_id):
    """Move the referral on: received, accepted, rejected (reason), in_progress, completed
    (outcome). A step the workflow does not allow is 409 with `allowed` next steps."""
    return inbox.set_status(db.session, current_actor(), referral_id, data)
