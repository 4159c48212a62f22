"""Staff view of one referral with its deliveries, and re-delivery of a failed one."""

from flask_smorest import Blueprint

from caseapp.api.auth import current_actor, requires
from caseapp.api.schemas.referrals import ReferralDeliveryOut
from caseapp.extensions import db
from caseapp.permissions import Permission
from caseapp.services.referrals import staff_view

blp = Blueprint("referral_delivery", __name__, url_prefix="/api/v1/referrals",
                description="つなぎの送付 (referral delivery)")


@blp.route("/<int:referral_id>", methods=["GET"])
@blp.response(200, ReferralDeliveryOut)
@requires(Permission.REFERRALS_READ)
def get(referral_id):
    """One referral with `history`, `deliveries` (each with its attempts) and disclosures."""
    referral = staff_view.get(db.session, current_actor(), referral_id)
    return referral


@blp.route("/<int:referral_id>/retry", methods=["POST"])
@blp.response(200, ReferralDeliveryOut)
@requires(Permission.REFERRALS_WRITE)
def retry(referral_id):
    """Deliver a `failed` referral again (409 for any other status)."""
    return staff_view.retry(db.session, current_actor(), referral_id)
