"""``/partner/``: the inbox of a person at a partner body, and one page per referral.

Every read and every step goes through the JSON partner inbox's service
(``caseapp.services.referrals.inbox``): the same partner view (docs/partner-view.md), the same
ownership in every query, the same audit and disclosure log, the same refusals. Another
partner's referral is the same 404 page as one that does not exist.
"""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for

from caseapp.domain import partner_view, workflow
from caseapp.domain.vocab import REFERRAL_STATUS_LABELS
from caseapp.extensions import db
from caseapp.jp.wareki import format_wareki
from caseapp.models.types import utcnow
from caseapp.rules.calendar import TOKYO
from caseapp.rules.vocab import TOPICS
from caseapp.services.core.errors import Conflict, DomainError, Invalid, NotFound
from caseapp.services.referrals import inbox
from caseapp.services.referrals.letters import BASIS_LABELS, URGENCY, WITHHELD
from caseapp.web.access import console_blueprint, current_actor, partner_user

bp = console_blueprint("partner", __name__, url_prefix="/partner")

PER_PAGE = 50
# The buttons, by the status they move to (the workflow says which are allowed now).
ACTIONS = {"received": "受付", "accepted": "受理", "rejected": "辞退", "in_progress": "対応中",
           "completed": "完了"}
OUTCOME_LABELS = {
    "got_help": "支援につながった", "not_eligible": "対象外だった",
    "couldnt_contact": "ご本人と連絡がつかなかった", "no_capacity": "受け入れの余裕がなかった",
    "declined_by_client": "ご本人が希望されなかった", "referred_elsewhere": "ほかの機関へつないだ",
}
METHOD_LABELS = {"info_only": "情報提供", "intro_letter": "紹介状", "accompany": "同行",
                 "formal_request": "支援要請"}
BY_LABELS = {"counter": "相談窓口", "partner": "連携先", "system": "システム"}
FILTER_STATUSES = [s for s in partner_view.VISIBLE_STATUSES]


def _when(value) -> str:
    """A time as a partner reads it: 和暦 and the hour, in Tokyo."""
    if value is None:
        return "—"
    local = value.astimezone(TOKYO)
    return f"{format_wareki(local)} {local:%H:%M}"


@bp.context_processor
def _labels() -> dict:
    return {"when": _when, "status_labels": REFERRAL_STATUS_LABELS, "actions": ACTIONS,
            "outcome_labels": OUTCOME_LABELS, "outcomes": workflow.OUTCOMES,
            "method_labels": METHOD_LABELS, "urgency_labels": URGENCY,
            "basis_labels": BASIS_LABELS, "withheld_labels": WITHHELD, "topics": TOPICS,
            "by_labels": BY_LABELS}


def _not_found():
    return render_template("error.html", title="つなぎが見つかりません",
                           message="この番号のつなぎは、この受信箱にはありません。",
                           back=url_for("partner.home")), 404


@bp.route("/")
@partner_user
def home():
    """New and overdue referrals first; filter by status."""
    return _inbox()


def _inbox(refused: dict | None = None, code: int = 200):
    statuses = [s for s in request.args.getlist("status") if s in FILTER_STATUSES]
    page = request.args.get("page", 1, type=int) or 1
    actor, now = current_actor(), utcnow()
    rows = inbox.listing(db.session, actor, statuses=statuses or None, page=max(page, 1),
                         per_page=PER_PAGE, attention_first=True, now=now)
    context = {"rows": rows, "attention": {v["id"]: inbox.attention(v, now) for v in rows.items},
               "chosen": statuses, "filter_statuses": FILTER_STATUSES, "refused": refused,
               "partner_name": inbox.partner_name(db.session, actor)}
    # htmx restoring a page from history asks for the whole page.
    if (request.headers.get("HX-Target") == "inbox-list"
            and not request.headers.get("HX-History-Restore-Request")):
        return render_template("partner/_list.html", **context), code
    return render_template("partner/home.html", **context), code


@bp.route("/referrals/<int:referral_id>")
@partner_user
def referral(referral_id: int):
    """The partner view of one referral, and the steps allowed now."""
    return _referral(referral_id)


def _referral(referral_id: int, refused: dict | None = None, code: int = 200):
    actor, now = current_actor(), utcnow()
    try:
        view = inbox.get(db.session, actor, referral_id, now=now)
    except NotFound:
        return _not_found()
    return render_template("partner/referral.html", r=view, refused=refused,
                           attention=inbox.attention(view, now),
                           partner_name=inbox.partner_name(db.session, actor)), code


@bp.route("/referrals/<int:referral_id>/status", methods=["POST"])
@partner_user
def set_status(referral_id: int):
    """One step (受付, 受理, 辞退, 対応中, 完了), from the inbox or the referral's page."""
    form = request.form
    status = form.get("status", "")
    data = {"status": status, "note": form.get("note", "").strip() or None}
    if status == "rejected":
        data["reason"] = form.get("reason", "")
    if status == "completed":
        data["outcome"] = form.get("outcome") or None
    from_inbox = form.get("from") == "inbox"
    try:
        inbox.set_status(db.session, current_actor(), referral_id, data)
    except NotFound:
        return _not_found()
    except (Invalid, Conflict) as exc:
        refused = {"id": referral_id, "status": status, "errors": exc.errors or {},
                   "message": None if exc.errors else exc.detail, "data": dict(form)}
        if from_inbox:
            return _inbox(refused, exc.status)
        return _referral(referral_id, refused, exc.status)
    except DomainError as exc:  # nothing else is expected of this service; shown, not a 500
        refused = {"id": referral_id, "status": status, "errors": {}, "message": exc.detail,
                   "data": dict(form)}
        return _referral(referral_id, refused, exc.status)
    flash(f"番号 {referral_id} のつなぎを「{ACTIONS.get(status, status)}」にしました。", "success")
    if from_inbox:
        return redirect(url_for("partner.home"))
    return redirect(url_for("partner.referral", referral_id=referral_id))
