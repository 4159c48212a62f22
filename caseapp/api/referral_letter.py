"""The 紹介状 (referral letter) as a PDF for staff to print; producing one is a disclosure."""

from flask import Response, current_app
from flask_smorest import Blueprint

from caseapp.api.auth import current_actor, requires
from caseapp.extensions import db
from caseapp.permissions import Permission
from caseapp.services.referrals import letters

blp = Blueprint("referral_letter", __name__, url_prefix="/api/v1/referrals",
                description="紹介状 (referral letter)")

_PDF_DOC = {"200": {"description": "OK", "content": {
    "application/pdf": {"schema": {"type": "string", "format": "binary"}}}}}


@blp.route("/<int:referral_id>/letter.pdf", methods=["GET"])
@blp.doc(responses=_PDF_DOC)
@requires(Permission.REFERRALS_READ)
def letter(referral_id):
    """A4 letter to hand over: what the legal basis allows, QR code and short code (logged)."""
    made = letters.produce(db.session, current_actor(), referral_id, current_app.config["CASEAPP"])
    return Response(made.pdf, mimetype="application/pdf", headers={
        "Content-Disposition": f'inline; filename="{made.filename}"'})
