from flask_smorest import Blueprint

from caseapp.api.auth import current_actor, requires
from caseapp.api.schemas.consultations import (
    ConsultationIn,
    ConsultationListArgs,
    ConsultationOut,
    ConsultationPage,
    IntakeOut,
)
from caseapp.extensions import db
from caseapp.permissions import Permission
from caseapp.services.intake import consultations

blp = Blueprint("consultations", __name__, url_prefix="/api/v1/consultations",
                description="相談の受付 (intake), routed and referred in one transaction")


# An instance, not the class: given a class, webargs builds the schema (and its nested
# ones) again for every request.
_CONSULTATION_IN = ConsultationIn()


@blp.route("", methods=["POST"])
@blp.arguments(_CONSULTATION_IN)
@blp.response(201, IntakeOut)
@requires(Permission.CONSULTATIONS_WRITE)
def create(data):
    """Record a consultation; it is routed and its referrals stored before the reply."""
    return consultations.record(db.session, current_actor(), data)


@blp.route("", methods=["GET"])
@blp.arguments(ConsultationListArgs, location="query")
@blp.response(200, ConsultationPage)
@requires(Permission.CONSULTATIONS_READ)
def listing(args):
    """Consultations, newest first; filter by case, client, event, channel, urgency or time."""
    page, per_page = args.pop("page"), args.pop("per_page")
    result = consultations.listing(db.session, current_actor(), args, page, per_page)
    return result


@blp.route("/<int:consultation_id>", methods=["GET"])
@blp.response(200, ConsultationOut)
@requires(Permission.CONSULTATIONS_READ)
def get(consultation_id):
    """One consultation with its routing decisions and referrals (audited read)."""
    consultation = consultations.get(db.session, current_actor(), consultation_id)
    return consultation
