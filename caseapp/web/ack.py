"""``/ack``: a partner types the short code printed on a 紹介状 to say it has been received.

No account: the code is the credential, so every try is audited (in the service) and tries are
rate limited per address. The same outcome wording serves the QR link's pages
(templates/ack/_outcomes.html).

CSRF: Flask-WTF is not part of this branch; the form carries no token yet. A forged post can
only acknowledge a referral whose code the attacker already knows, but the form should join
the CSRF protection of the shared sign-in stack when it lands.
"""

from __future__ import annotations

from flask import Blueprint, Flask, current_app, render_template, request
from werkzeug.exceptions import TooManyRequests

from caseapp.extensions import db
from caseapp.services.core.errors import DomainError, NotFound
from caseapp.services.referrals import ack_links

blp = Blueprint("ack_pages", __name__, url_prefix="/ack", template_folder="templates")


def _public(view):
    # The app's deny-by-default check (caseapp.api.auth) reads this mark on every view.
    view.required_permission = "public"
    return view


@blp.route("", methods=["GET"])
@_public
def form():
    return render_template("ack/code.html", typed="", outcome=None)


@blp.route("", methods=["POST"])
@_public
def submit():
    typed = request.form.get("code", "")[:64]
    try:
        summary = ack_links.use_code(db.session, typed, current_app.config["CASEAPP"],
                                     source_ip=request.remote_addr,
                                     user_agent=request.headers.get("User-Agent"))
    except DomainError as exc:
        outcome = ack_links.outcome_of(exc)
        if isinstance(exc, NotFound):  # a typing mistake: the form again, with the message
            return render_template("ack/code.html", typed=typed, outcome=outcome), exc.status
        return render_template("ack/result.html", outcome=outcome, s=None), exc.status
    return render_template("ack/result.html", outcome="done", s=summary)


@blp.errorhandler(TooManyRequests)
def _limited(exc: TooManyRequests):
    return render_template("ack/result.html", outcome="limited", s=None), 429


def register(app: Flask) -> None:
    """Mount the pages, with their own limit on typing codes (per address)."""
    limiter = app.extensions.get("caseapp_limiter")
    if limiter is not None:
        limiter.limit(lambda: current_app.config["CASEAPP"].ratelimit_ack,
                      methods=["POST"])(blp)
    app.register_blueprint(blp)
