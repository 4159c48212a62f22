"""``/clients``: 相談者 — search, one person's record and household, duplicates, and merging."""

from flask import flash, redirect, render_template, request, url_for
from marshmallow import ValidationError

from caseapp.api.schemas.clients import MergeIn
from caseapp.extensions import db
from caseapp.permissions import Permission
from caseapp.services.clients import merge, merge_preview, records
from caseapp.services.core.errors import DomainError, NotFound
from caseapp.web.access import console_blueprint, current_actor, staff
from caseapp.web.intake import flatten

bp = console_blueprint("console_clients", __name__, url_prefix="/clients")


@bp.errorhandler(NotFound)
def _not_found(exc):
    return render_template("error.html", title="見つかりません", message=exc.detail,
                           back=url_for("console_clients.search")), 404


@bp.route("")
@staff(Permission.CLIENTS_READ)
def search():
    q = request.args.get("q", "").strip()
    hits = records.search(db.session, current_actor(), q, 1, 50).items if q else []
    template = "clients/_hits.html" if request.headers.get("HX-Request") else "clients/search.html"
    return render_template(template, q=q, hits=hits)


@bp.route("/<int:client_id>")
@staff(Permission.CLIENTS_READ)
def show(client_id):
    client = records.get(db.session, current_actor(), client_id, purpose="console")
    duplicates = records.duplicates_of(db.session, current_actor(), client_id)
    return render_template("clients/show.html", client=client, duplicates=duplicates)


@bp.route("/<int:client_id>/merge/<int:duplicate_id>")
@staff(Permission.CLIENTS_MERGE)
def confirm_merge(client_id, duplicate_id):
    return _confirm(client_id, duplicate_id)


def _confirm(client_id: int, duplicate_id: int, errors: dict | None = None, status: int = 200):
    try:
        plan = merge_preview.preview(db.session, current_actor(), client_id, duplicate_id)
    except DomainError as exc:
        if isinstance(exc, NotFound):
            raise
        db.session.rollback()
        flash("；".join(m for ms in (exc.errors or {}).values() for m in ms) or exc.detail,
              "error")
        return redirect(url_for("console_clients.show", client_id=client_id))
    return render_template("clients/merge.html", errors=errors or {}, **plan), status


@bp.route("/<int:client_id>/merge/<int:duplicate_id>", methods=["POST"])
@staff(Permission.CLIENTS_MERGE)
def do_merge(client_id, duplicate_id):
    form = {"duplicate_id": duplicate_id,
            "reason": request.form.get("reason", "").strip() or None}
    try:
        data = MergeIn().load(form)
    except ValidationError as exc:
        return _confirm(client_id, duplicate_id, flatten(exc.messages), 422)
    try:
        merge.merge(db.session, current_actor(), client_id, data["duplicate_id"],
                    reason=data.get("reason"))
    except NotFound:
        raise
    except DomainError as exc:
        db.session.rollback()
        return _confirm(client_id, duplicate_id, exc.errors or {"_schema": [exc.detail]}, 422)
    flash(f"相談者 {duplicate_id} を {client_id} に統合しました。", "info")
    return redirect(url_for("console_clients.show", client_id=client_id))
