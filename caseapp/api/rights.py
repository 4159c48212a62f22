"""The person's rights: the disclosure file (開示 §33) and stop of use (利用停止 §35)."""

from flask import Response
from flask_smorest import Blueprint

from caseapp.api.auth import current_actor, requires
from caseapp.api.schemas.rights import ExportOut, UseStopIn, UseStopOut
from caseapp.extensions import db
from caseapp.permissions import Permission
from caseapp.services.rights import export, export_pdf, stop_use

blp = Blueprint("rights", __name__, url_prefix="/api/v1/clients",
                description="本人の権利: 開示 (§33)・利用停止 (§35)")

_PDF_DOC = {"200": {"description": "OK", "content": {
    "application/pdf": {"schema": {"type": "string", "format": "binary"}}}}}


@blp.route("/<int:client_id>/export", methods=["GET"])
@blp.response(200, ExportOut)
@requires(Permission.CLIENTS_EXPORT)
def export_json(client_id):
    """Everything held about the person, with provision records and reads (audited)."""
    return export.collect(db.session, current_actor(), client_id)


@blp.route("/<int:client_id>/export.pdf", methods=["GET"])
@blp.doc(responses=_PDF_DOC)
@requires(Permission.CLIENTS_EXPORT)
def export_pdf_file(client_id):
    """The same disclosure file as a Japanese PDF to hand over (font embedded; audited)."""
    document = export.collect(db.session, current_actor(), client_id, form="pdf")
    return Response(export_pdf.render(document), mimetype="application/pdf", headers={
        "Content-Disposition": f'attachment; filename="disclosure-{client_id}.pdf"'})


@blp.route("/<int:client_id>/stop-use", methods=["POST"])
@blp.arguments(UseStopIn)
@blp.response(200, UseStopOut)
@requires(Permission.CLIENTS_STOP_USE)
def stop(data, client_id):
    """Stop use of the person's data: nothing more leaves; partners holding it are told."""
    return stop_use.stop(db.session, current_actor(), client_id, data["reason"])


@blp.route("/<int:client_id>/resume-use", methods=["POST"])
@blp.arguments(UseStopIn)
@blp.response(200, UseStopOut)
@requires(Permission.CLIENTS_STOP_USE)
def resume(data, client_id):
    """Lift the stop (audited); referrals that waited leave if a legal basis holds."""
    return stop_use.resume(db.session, current_actor(), client_id, data["reason"])
