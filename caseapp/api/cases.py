from flask_smorest import Blueprint

from caseapp.api.auth import current_actor, requires
from caseapp.api.schemas.cases import (
    CaseListArgs,
    CaseOut,
    CasePage,
    CasePatch,
    TransferIn,
    TransferOut,
    TransferPage,
)
from caseapp.api.schemas.common import PageArgs
from caseapp.extensions import db
from caseapp.permissions import Permission
from caseapp.services.casework import cases, transfers

blp = Blueprint("cases", __name__, url_prefix="/api/v1/cases", description="支援ケース")


@blp.route("", methods=["GET"])
@blp.arguments(CaseListArgs, location="query")
@blp.response(200, CasePage)
@requires(Permission.CASES_READ)
def listing(args):
    """Cases; `lost=true`: open cases with no owner, an overdue next action, or a rejected or
    failed referral not yet re-routed. Emergencies first; for a user working at a 地区's center
    (its `area`), the cases of people living there next; then by next action."""
    page = cases.listing(db.session, current_actor(), lost=args["lost"],
                         status=args.get("status"), page=args["page"], per_page=args["per_page"])
    return page


@blp.route("/<int:case_id>", methods=["GET"])
@blp.response(200, CaseOut)
@requires(Permission.CASES_READ)
def get(case_id):
    """One case with its consultations and referrals (audited read)."""
    case = cases.get(db.session, current_actor(), case_id)
    return case


@blp.route("/<int:case_id>", methods=["PATCH"])
@blp.arguments(CasePatch)
@blp.response(200, CaseOut)
@requires(Permission.CASES_WRITE)
def patch(changes, case_id):
    """Change owner, next action and its date, or status."""
    return cases.update(db.session, current_actor(), case_id, changes)


@blp.route("/<int:case_id>/transfer", methods=["POST"])
@blp.arguments(TransferIn)
@blp.response(201, TransferOut)
@requires(Permission.CASES_TRANSFER)
def transfer(data, case_id):
    """移管: hand the case, and the person's record, to the municipality they moved to."""
    return transfers.transfer(db.session, current_actor(), case_id, data)


@blp.route("/transfers", methods=["GET"])
@blp.arguments(PageArgs, location="query")
@blp.response(200, TransferPage)
@requires(Permission.CASES_READ)
def transfer_list(args):
    """Handovers into and out of this municipality, newest first (no personal data)."""
    return transfers.listing(db.session, current_actor(), page=args["page"],
                             per_page=args["per_page"])
