from flask import current_app
from flask_smorest import Blueprint

from caseapp.api.auth import current_actor, requires
from caseapp.api.schemas.partners import (
    PartnerDirectoryArgs,
    PartnerIn,
    PartnerOut,
    PartnerPage,
    PartnerPatch,
    PartnerWrittenOut,
)
from caseapp.extensions import db
from caseapp.permissions import Permission
from caseapp.services.network import partners

blp = Blueprint("partners", __name__, url_prefix="/api/v1/partners",
                description="連携機関の名簿 (the partner directory)")


@blp.route("", methods=["GET"])
@blp.arguments(PartnerDirectoryArgs, location="query")
@blp.response(200, PartnerPage)
@requires(Permission.PARTNERS_READ)
def listing(args):
    """The directory; webhook secrets are never shown."""
    return partners.listing(db.session, active=args.get("active"), page=args["page"],
                            per_page=args["per_page"])


@blp.route("", methods=["POST"])
@blp.arguments(PartnerIn)
@blp.response(201, PartnerWrittenOut)
@requires(Permission.PARTNERS_ADMIN)
def create(data):
    """Add a partner; a webhook secret is generated and shown once if not given."""
    return partners.create(db.session, current_actor(), data, current_app.config["CASEAPP"])


@blp.route("/<code>", methods=["GET"])
@blp.response(200, PartnerOut)
@requires(Permission.PARTNERS_READ)
def get(code):
    """One partner of the directory; its webhook secret is never shown."""
    return partners.get(db.session, code)


@blp.route("/<code>", methods=["PATCH"])
@blp.arguments(PartnerPatch)
@blp.response(200, PartnerWrittenOut)
@requires(Permission.PARTNERS_ADMIN)
def patch(data, code):
    """Change a partner; `webhook_secret: null` makes a new secret, shown once."""
    return partners.update(db.session, current_actor(), code, data,
                           current_app.config["CASEAPP"])
