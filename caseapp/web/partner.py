"""``/partner/``: the side of the console for people at partner bodies."""

from flask import render_template

from caseapp.web.access import console_blueprint, partner_user

bp = console_blueprint("partner", __name__, url_prefix="/partner")


@bp.route("/")
@partner_user
def home():
    """The partner's inbox (filled by the pages that follow)."""
    return render_template("partner/home.html")
