"""``/cases/<id>``: one case's timeline and the actions a counter worker takes on it.

Every action runs the API's schema and the same service as the API; a refusal comes back as
the page again (422) with the API's message beside the field.
"""

from flask import Response, current_app, flash, redirect, render_template, request, url_for
from marshmallow import Schema, ValidationError

from caseapp.api.schemas.cases import CasePatch
from caseapp.api.schemas.consents import ConsentIn, SupportMeetingIn
from caseapp.api.schemas.referrals import ManualReferralIn, ReferralCancelIn, ReferralHandledIn
from caseapp.extensions import db
from caseapp.models.types import utcnow
from caseapp.permissions import Permission
from caseapp.rules.calendar import TOKYO
from caseapp.services.casework import cases, reminders
from caseapp.services.core.errors import DomainError, NotFound
from caseapp.services.legal import consents
from caseapp.services.referrals import letters, loop, staff_view
from caseapp.web.access import console_blueprint, current_actor, staff
from caseapp.web.intake import flatten, partner_names

bp = console_blueprint("console_cases", __name__, url_prefix="/cases")
NOTHING = Schema()  # an action that takes no input


@bp.errorhandler(NotFound)
def _not_found(exc):
    return render_template("error.html", title="見つかりません", message=exc.detail,
                           back=url_for("home.index")), 404


def _local_datetime(text: str) -> str:
    # <input type="datetime-local"> sends wall-clock time: the counter's clock is Tokyo's.
    text = text.strip()
    if len(text) == 16 and "T" in text:
        return text + ":00+09:00"
    return text


def _page(case_id: int, errors: dict | None = None, status: int = 200, form=None):
    case = cases.get(db.session, current_actor(), case_id)
    pending = reminders.listing(db.session, current_actor(), case_id=case.id, page=1,
                                per_page=50).items
    return render_template(
        "cases/show.html", case=case, errors=errors or {}, f=form or {},
        partner_names=partner_names(), reminders=pending,
        registered=request.args.get("registered", type=int),
        duplicates=[d for d in request.args.get("duplicates", "").split(",") if d]), status


@bp.route("/<int:case_id>")
@staff(Permission.CASES_READ)
def show(case_id):
    return _page(case_id)


def _run(case_id: int, schema, form_data: dict, action, done: str):
    try:
        data = schema.load(form_data)
    except ValidationError as exc:
        return _page(case_id, flatten(exc.messages), 422, request.form)
    try:
        action(data)
    except NotFound:
        raise
    except DomainError as exc:
        db.session.rollback()
        return _page(case_id, exc.errors or {"_schema": [exc.detail]}, 422, request.form)
    flash(done, "info")
    return redirect(url_for("console_cases.show", case_id=case_id))


@bp.route("/<int:case_id>/next-action", methods=["POST"])
@staff(Permission.CASES_WRITE)
def next_action(case_id):
    form = {"next_action": request.form.get("next_action", "").strip() or None,
            "next_action_at": _local_datetime(request.form.get("next_action_at", "")) or None}
    return _run(case_id, CasePatch(), form,
                lambda data: cases.update(db.session, current_actor(), case_id, data),
                "次の対応を記録しました。")


@bp.route("/<int:case_id>/refer", methods=["POST"])
@staff(Permission.REFERRALS_WRITE)
def refer(case_id):
    form = {"case_id": case_id, "partner": request.form.get("partner", ""),
            "reason": request.form.get("reason", ""), "method": request.form.get("method", "")}
    return _run(case_id, ManualReferralIn(), form,
                lambda data: loop.create_manual(db.session, current_actor(), data),
                "紹介を作成しました。")


@bp.route("/<int:case_id>/referrals/<int:referral_id>/cancel", methods=["POST"])
@staff(Permission.REFERRALS_WRITE)
def cancel(case_id, referral_id):
    return _run(case_id, ReferralCancelIn(), {"reason": request.form.get("reason", "")},
                lambda data: loop.cancel(db.session, current_actor(), referral_id,
                                         data["reason"]),
                "紹介を取り消しました。")


@bp.route("/<int:case_id>/referrals/<int:referral_id>/handled", methods=["POST"])
@staff(Permission.REFERRALS_WRITE)
def handled(case_id, referral_id):
    return _run(case_id, ReferralHandledIn(), {"note": request.form.get("note", "")},
                lambda data: loop.mark_handled(db.session, current_actor(), referral_id,
                                               data["note"]),
                "対応済みにしました。")


@bp.route("/<int:case_id>/referrals/<int:referral_id>/retry", methods=["POST"])
@staff(Permission.REFERRALS_WRITE)
def retry(case_id, referral_id):
    return _run(case_id, NOTHING, {},
                lambda _data: staff_view.retry(db.session, current_actor(), referral_id),
                "送付をやり直します。")


@bp.route("/<int:case_id>/consents", methods=["POST"])
@staff(Permission.CONSENTS_WRITE)
def consent(case_id):
    case = cases.get(db.session, current_actor(), case_id)
    form = {"scope": request.form.get("scope", ""), "method": request.form.get("method", ""),
            "given_at": utcnow().astimezone(TOKYO).isoformat()}
    return _run(case_id, ConsentIn(), form,
                lambda data: consents.give(db.session, current_actor(), case.client_id, data),
                "同意を記録しました。")


@bp.route("/<int:case_id>/consents/<int:consent_id>/withdraw", methods=["POST"])
@staff(Permission.CONSENTS_WRITE)
def withdraw(case_id, consent_id):
    return _run(case_id, NOTHING, {},
                lambda _data: consents.withdraw(db.session, current_actor(), consent_id),
                "同意の撤回を記録しました。")


@bp.route("/<int:case_id>/support-meeting", methods=["POST"])
@staff(Permission.SUPPORT_MEETINGS_WRITE)
def support_meeting(case_id):
    form = {"law": request.form.get("law", ""),
            "meeting_date": request.form.get("meeting_date", ""),
            "partners": request.form.getlist("partners"),
            "note": request.form.get("note", "").strip() or None}
    return _run(case_id, SupportMeetingIn(), form,
                lambda data: consents.record_support_meeting(db.session, current_actor(),
                                                             case_id, data),
                "支援会議を記録しました。")


@bp.route("/<int:case_id>/referrals/<int:referral_id>/letter.pdf")
@staff(Permission.REFERRALS_READ)
def letter(case_id, referral_id):
    pdf = letters.print_bytes(db.session, current_actor(), referral_id,
                              current_app.config["CASEAPP"])
    return Response(pdf, mimetype="application/pdf", headers={
        "Content-Disposition": f'inline; filename="referral-{referral_id}.pdf"',
        "Cache-Control": "no-store"})
