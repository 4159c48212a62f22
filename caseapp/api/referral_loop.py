from flask_smorest import Blueprint

from caseapp.api.auth import current_actor, requires
from caseapp.api.schemas.referrals import (
    LifeSafetyIn,
    ManualReferralIn,
    ReferralCancelIn,
    ReferralDeliveryOut,
    ReferralHandledIn,
    ReferralLoopOut,
    SafetyReviewIn,
    StaffReferralListArgs,
    StaffReferralPage,
)
from caseapp.extensions import db
from caseapp.permissions import Permission
from caseapp.services.referrals import life_safety, loop

# GET /referrals/{id} and /retry live in another module under the same prefix.
blp = Blueprint("referral_loop", __name__, url_prefix="/api/v1/referrals",
                description="つなぎ: staff follow every referral until the partner reports back")


@blp.route("", methods=["GET"])
@blp.arguments(StaffReferralListArgs, location="query")
@blp.response(200, StaffReferralPage)
@requires(Permission.REFERRALS_READ)
def listing(args):
    """Referrals by `status`, `partner`, `case_id`, `overdue`, `open_before`; overdue first."""
    return loop.listing(
        db.session, current_actor(), statuses=args.get("status"), partner=args.get("partner"),
        case_id=args.get("case_id"), overdue=args.get("overdue"),
        open_before=args.get("open_before"), page=args["page"], per_page=args["per_page"])


@blp.route("", methods=["POST"])
@blp.arguments(ManualReferralIn)
@blp.response(201, ReferralLoopOut)
@requires(Permission.REFERRALS_WRITE)
def create(data):
    """A manual referral; without a consent or a recorded exception it waits in
    `awaiting_consent` and nothing is sent."""
    return loop.create_manual(db.session, current_actor(), data)


@blp.route("/<int:referral_id>/cancel", methods=["POST"])
@blp.arguments(ReferralCancelIn)
@blp.response(200, ReferralLoopOut)
@requires(Permission.REFERRALS_WRITE)
def cancel(data, referral_id):
    """Cancel an open referral (reason required); deliveries not yet sent are dropped."""
    return loop.cancel(db.session, current_actor(), referral_id, data["reason"])


@blp.route("/<int:referral_id>/handled", methods=["POST"])
@blp.arguments(ReferralHandledIn)
@blp.response(200, ReferralLoopOut)
@requires(Permission.REFERRALS_WRITE)
def handled(data, referral_id):
    """Mark a rejected or failed referral dealt with without re-routing (case owner or
    supervisor); it leaves the lost-cases list."""
    return loop.mark_handled(db.session, current_actor(), referral_id, data["note"])


@blp.route("/<int:referral_id>/life-safety", methods=["POST"])
@blp.arguments(LifeSafetyIn)
@blp.response(200, ReferralDeliveryOut)
@requires(Permission.REFERRALS_WRITE)
def life_safety_send(data, referral_id):
    """Send a referral awaiting consent now, to protect life or body (個人情報保護法
    §27(1)(ii)); the reason is kept and a supervisor reviews it afterwards."""
    return life_safety.invoke(db.session, current_actor(), referral_id, data["reason"])


@blp.route("/<int:referral_id>/life-safety/review", methods=["POST"])
@blp.arguments(SafetyReviewIn)
@blp.response(200, ReferralDeliveryOut)
@requires(Permission.SAFETY_REVIEW)
def life_safety_review(data, referral_id):
    """A supervisor's review, afterwards, of a referral sent on life_safety (409 when there
    is none to review)."""
    return life_safety.review(db.session, current_actor(), referral_id, data["outcome"],
                              data["note"])
