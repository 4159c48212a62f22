"""``/referrals``: 紹介 — referrals by status, partner and overdue, overdue first."""

from flask import render_template, request

from caseapp.domain.vocab import ReferralStatus
from caseapp.extensions import db
from caseapp.permissions import Permission
from caseapp.services.referrals import loop
from caseapp.web.access import console_blueprint, current_actor, staff
from caseapp.web.intake import partner_names

bp = console_blueprint("console_referrals", __name__, url_prefix="/referrals")
STATUSES = [s.value for s in ReferralStatus]


@bp.route("")
@staff(Permission.REFERRALS_READ)
def index():
    status = request.args.get("status", "")
    partner = request.args.get("partner", "")
    overdue = request.args.get("overdue") == "1"
    page = loop.listing(db.session, current_actor(),
                        statuses=[status] if status in STATUSES else None,
                        partner=partner or None, overdue=True if overdue else None,
                        page=max(request.args.get("page", 1, type=int), 1), per_page=50)
    return render_template("referrals/index.html", page=page, status=status, partner=partner,
                           overdue=overdue, partner_names=partner_names(), statuses=STATUSES)
