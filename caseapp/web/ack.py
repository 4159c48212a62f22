"""``/ack``: a partner types the short code printed on a 紹介状 to say it has been received.

No account: the code is the credential, so every try is audited (in the service) and tries are
rate limited per address. The same outcome wording serves the QR link's pages
(templates/ack/_outcomes.html). A console blueprint: the shared layout, its CSP and the CSRF
check of every form, with no sign-in asked.
"""

from __future__ import annotations

from flask import Flask, current_app, render_template, request
from werkzeug.exceptions import TooManyRequests

from caseapp.extensions import db
from caseapp.services.core.errors import DomainError, NotFound
from caseapp.services.referrals import ack_links
from caseapp.web.access import console_blueprint, public

blp = console_blueprint("ack_pages", __name__, url_prefix="/ack")


@blp.route("", methods=["GET"])
@public
def form():
    return render_template("ack/code.html", typed="", outcome=None)


@blp.route("", methods=["POST"])
@public
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
