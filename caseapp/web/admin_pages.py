"""``/admin/…``: the administrator's pages — users, partners, routing rules.

Views read the form, call one service and show its answer; a refused form comes back with the
service's Japanese messages beside the fields (422). A generated password is shown in the answer
to the request that made it, never carried in the session cookie or a redirect.
"""

from __future__ import annotations

from datetime import datetime

from flask import current_app, flash, redirect, render_template, request, url_for

from caseapp.extensions import db
from caseapp.permissions import ROLES, Permission
from caseapp.rules.calendar import TOKYO
from caseapp.services.core import users
from caseapp.services.core.errors import DomainError, Invalid
from caseapp.services.delivery import gateways
from caseapp.services.intake import rulesets
from caseapp.services.network import partners, webhook_check
from caseapp.web.access import ROLE_LABELS, console_blueprint, current_actor, staff

bp = console_blueprint("admin", __name__, url_prefix="/admin")

_NO_STORE = {"Cache-Control": "no-store"}


def tokyo(at: datetime | None, with_time: bool = True) -> str:
    if at is None:
        return "—"
    local = at.astimezone(TOKYO)
    return local.strftime("%Y-%m-%d %H:%M" if with_time else "%Y-%m-%d")


def _render(template: str, **context):
    return render_template(template, tokyo=tokyo, role_labels=ROLE_LABELS, **context)


def _config():
    return current_app.config["CASEAPP"]


# ---- users ---------------------------------------------------------------------------------

def _users_page(status: int = 200, *, form: dict | None = None, errors: dict | None = None,
                row_errors: dict | None = None, shown: tuple[str, str] | None = None,
                area_errors: dict | None = None):
    page = _render("admin/users.html", users=users.listing(db.session),
                   partners=partners.listing(db.session, active=None, page=1,
                                             per_page=1000).items,
                   home_areas=users.home_areas(db.session), home_roles=users.HOME_ROLES,
                   roles=ROLES, form=form or {}, errors=errors or {},
                   row_errors=row_errors or {}, area_errors=area_errors or {}, shown=shown)
    return page, status, _NO_STORE


@bp.route("/users")
@staff(Permission.USERS_ADMIN)
def users_page():
    return _users_page()


@bp.route("/users", methods=["POST"])
@staff(Permission.USERS_ADMIN)
def users_create():
    form = {key: request.form.get(key, "").strip() for key in
            ("name", "role", "partner", "email", "area")}
    try:
        written = users.create(db.session, current_actor(), name=form["name"], role=form["role"],
                               partner_code=form["partner"] or None,
                               email=form["email"] or None,
                               password=request.form.get("password") or None,
                               area_code=form["area"] or None)
    except Invalid as exc:
        return _users_page(422, form=form, errors=exc.errors or {})
    if written.shown_password:
        return _users_page(201, shown=(written.user.name, written.shown_password))
    flash(f"利用者 {written.user.name} を作りました。", "success")
    return redirect(url_for("admin.users_page"), 303)


@bp.route("/users/<int:user_id>/password", methods=["POST"])
@staff(Permission.USERS_ADMIN)
def users_password(user_id: int):
    reinstating = request.form.get("reinstate") == "1"
    change = users.reinstate if reinstating else users.reset_password
    try:
        written = change(db.session, current_actor(), user_id,
                         request.form.get("password") or None)
    except DomainError as exc:
        if exc.status == 404:
            raise
        return _users_page(422, row_errors={user_id: _messages(exc, "password")})
    if written.shown_password:
        return _users_page(200, shown=(written.user.name, written.shown_password))
    done = "利用を再開し、パスワードを設定しました" if reinstating else "パスワードを設定しました"
    flash(f"{written.user.name} の{done}。開いていた画面はサインアウトされました。", "success")
    return redirect(url_for("admin.users_page"), 303)


@bp.route("/users/<int:user_id>/area", methods=["POST"])
@staff(Permission.USERS_ADMIN)
def users_area(user_id: int):
    try:
        user = users.set_area(db.session, current_actor(), user_id,
                              request.form.get("area", "").strip() or None)
    except DomainError as exc:
        if exc.status == 404:
            raise
        db.session.rollback()
        return _users_page(422, area_errors={user_id: _messages(exc, "area")})
    where = f"勤務する地区を{user.area.name}にしました" if user.area else "勤務する地区を外しました"
    flash(f"{user.name} の{where}。", "success")
    return redirect(url_for("admin.users_page"), 303)


@bp.route("/users/<int:user_id>/revoke", methods=["POST"])
@staff(Permission.USERS_ADMIN)
def users_revoke(user_id: int):
    try:
        name = users.get(db.session, user_id).name
        tokens = users.revoke(db.session, current_actor(), user_id)
    except DomainError as exc:
        if exc.status == 404:
            raise
        return _users_page(409, row_errors={user_id: _messages(exc, "user")})
    flash(f"{name} の利用を止めました（API トークン {tokens} 件を無効にし、開いていた画面を"
          "サインアウトしました）。", "success")
    return redirect(url_for("admin.users_page"), 303)


def _messages(exc: DomainError, key: str) -> list[str]:
    errors = exc.errors or {}
    return [m for messages in errors.values() for m in messages] or [exc.detail]


# ---- partners ------------------------------------------------------------------------------

@bp.route("/partners")
@staff(Permission.PARTNERS_ADMIN)
def partners_page():
    listed = partners.listing(db.session, active=None, page=1, per_page=1000).items
    return _render("admin/partners.html", partners=listed,
                   email_enabled=True)


def _partner_page(code: str, status: int = 200, *, form: dict | None = None,
                  errors: dict | None = None, answer=None, test_errors: dict | None = None,
                  shown_secret: str | None = None):
    partner = partners.get(db.session, code)
    form = form if form is not None else {
        "email": partner.email or "", "webhook_url": partner.webhook_url or "",
        "ack_sla_days": str(partner.ack_sla_days), "active": partner.active}
    headers = _NO_STORE if shown_secret else {}
    return (_render("admin/partner.html", partner=partner, form=form, errors=errors or {},
                    answer=answer, test_errors=test_errors or {}, shown_secret=shown_secret),
            status, headers)


@bp.route("/partners/<code>")
@staff(Permission.PARTNERS_ADMIN)
def partner_page(code: str):
    return _partner_page(code)


@bp.route("/partners/<code>", methods=["POST"])
@staff(Permission.PARTNERS_ADMIN)
def partner_save(code: str):
    form = {"email": request.form.get("email", "").strip(),
            "webhook_url": request.form.get("webhook_url", "").strip(),
            "ack_sla_days": request.form.get("ack_sla_days", "").strip(),
            "active": request.form.get("active") == "1"}
    data = {"email": form["email"] or None, "webhook_url": form["webhook_url"] or None,
            "active": form["active"]}
    errors = {}
    try:
        data["ack_sla_days"] = int(form["ack_sla_days"])
    except ValueError:
        errors["ack_sla_days"] = ["日数を半角数字で入力してください"]
    if not errors:
        try:
            written = partners.update(db.session, current_actor(), code, data, _config())
        except Invalid as exc:
            db.session.rollback()
            errors = exc.errors or {}
        else:
            if written.shown_secret:
                return _partner_page(code, shown_secret=written.shown_secret)
            flash("連携先の設定を保存しました。", "success")
            return redirect(url_for("admin.partner_page", code=code), 303)
    return _partner_page(code, 422, form=form, errors=errors)


@bp.route("/partners/<code>/test", methods=["POST"])
@staff(Permission.PARTNERS_ADMIN)
def partner_test(code: str):
    gateway = gateways.for_app(current_app).webhook
    try:
        answer = webhook_check.send_test(db.session, current_actor(), code, gateway, _config())
    except Invalid as exc:
        answer = None
        errors = exc.errors or {}
    else:
        errors = {}
    if request.headers.get("HX-Request"):
        return _render("admin/_test_answer.html", answer=answer, test_errors=errors)
    return _partner_page(code, answer=answer, test_errors=errors)


# ---- rules ---------------------------------------------------------------------------------

def _rules_page(status: int = 200, *, text: str | None = None, preview=None,
                errors: dict | None = None, months: int = 6):
    if text is None:
        text = rulesets.source_text(db.session)
    return _render("admin/rules.html", text=text, preview=preview,
                   history=rulesets.history(db.session), errors=errors or {},
                   months=months, max_months=rulesets.MAX_MONTHS), status


def _submitted_text() -> str:
    upload = request.files.get("file")
    if upload and upload.filename:
        raw = upload.read(rulesets.MAX_TEXT + 1)
        try:
            return raw.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise Invalid("ファイルを UTF-8 で保存してから選んでください"
                          "（not UTF-8）", errors={"file": [
                "ファイルを UTF-8 で保存してから選んでください"]}) from exc
    return request.form.get("text", "")


def _months() -> int:
    try:
        return int(request.form.get("months", "6"))
    except ValueError as exc:
        raise Invalid("月数を半角数字で入力してください（months）",
                      errors={"months": ["月数を半角数字で入力してください"]}) from exc


@bp.route("/rules")
@staff(Permission.RULES_ADMIN)
def rules_page():
    return _rules_page()


@bp.route("/rules/preview", methods=["POST"])
@staff(Permission.RULES_ADMIN)
def rules_preview():
    text = request.form.get("text", "")
    try:
        text = _submitted_text()
        months = _months()
        preview = rulesets.preview(db.session, current_actor(), text, months=months)
    except Invalid as exc:
        return _rules_page(422, text=text, errors=exc.errors or {})
    return _rules_page(200 if preview.ok else 422, text=text, preview=preview, months=months)


@bp.route("/rules/adopt", methods=["POST"])
@staff(Permission.RULES_ADMIN)
def rules_adopt():
    text = request.form.get("text", "")
    try:
        row = rulesets.adopt_text(db.session, current_actor(), text)
    except Invalid as exc:
        preview = rulesets.Preview(text=text, problems=_problems(exc))
        return _rules_page(422, text=text, preview=preview)
    flash(f"ルールセットを第 {row.version} 版として採用しました。次の受付から使われます。",
          "success")
    return redirect(url_for("admin.rules_page"), 303)


@bp.route("/rules/versions/<int:version>/adopt", methods=["POST"])
@staff(Permission.RULES_ADMIN)
def rules_readopt(version: int):
    try:
        row = rulesets.readopt(db.session, current_actor(), version)
    except Invalid as exc:
        # An old version can name a partner that has left the directory since.
        return _rules_page(422, text=rulesets.source_text(db.session, version),
                           preview=rulesets.Preview(text="", problems=_problems(exc)))
    flash(f"第 {version} 版を第 {row.version} 版として採用し直しました。", "success")
    return redirect(url_for("admin.rules_page"), 303)


@bp.route("/rules/versions/<int:version>")
@staff(Permission.RULES_ADMIN)
def rules_version(version: int):
    return _rules_page(text=rulesets.source_text(db.session, version))


def _problems(exc: Invalid):
    from caseapp.rules import Problem

    listed = exc.extra.get("problems")
    if listed:
        return [Problem(**p) for p in listed]
    return [Problem(rule=None, field=key, message=m)
            for key, messages in (exc.errors or {}).items() for m in messages]
