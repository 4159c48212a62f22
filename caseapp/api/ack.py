"""Public acknowledgement links (no account): GET shows, POST acknowledges.

A person opening the link (a browser asks for HTML) gets a page for every outcome — the
button, done, already used, expired, unknown — saying what to do next; the templates are the
/ack pages' (caseapp/web/templates/ack). A script, or a client that prefers JSON or names no
preference, gets JSON and problem+json.
"""

from flask import current_app, make_response, render_template, request
from flask_smorest import Blueprint

from caseapp.api.auth import public
from caseapp.api.schemas.referrals import AckLinkOut
from caseapp.csp import CONSOLE_CSP
from caseapp.extensions import db
from caseapp.jp.wareki import format_wareki
from caseapp.rules.calendar import TOKYO
from caseapp.services.core.errors import DomainError
from caseapp.services.referrals import ack_links

blp = Blueprint("ack", __name__, url_prefix="/api/v1/ack",
                description="受理確認リンク: mark a referral received from an e-mail, no login")


def _wants_html() -> bool:
    return request.accept_mimetypes.best_match(["application/json", "text/html"]) == "text/html"


def _page(html: str, status: int = 200):
    # The shared layout's stylesheet and script come from this server, as on the console.
    return make_response(html, status, {"Content-Security-Policy": CONSOLE_CSP})


def _answer(call, *, done: bool):
    try:
        summary = call()
    except DomainError as exc:
        if not _wants_html():
            raise
        return _page(render_template("ack/result.html", s=None,
                                     outcome=ack_links.outcome_of(exc)), exc.status)
    if not _wants_html():
        return summary
    # A Response passes through flask-smorest untouched; the dict path is serialised.
    if done:
        return _page(render_template("ack/result.html", s=summary, outcome="done"))
    expires = summary["expires_at"].astimezone(TOKYO)
    return _page(render_template(
        "ack/link.html", s=summary, expires=f"{format_wareki(expires)} {expires:%H:%M}"))


@blp.route("/<string:token>", methods=["GET"])
@blp.response(200, AckLinkOut)
@public
def show(token):
    """What the link does; changes nothing (mail scanners open links)."""
    return _answer(lambda: ack_links.describe(db.session, token, current_app.config["CASEAPP"],
                                              source_ip=request.remote_addr), done=False)


@blp.route("/<string:token>", methods=["POST"])
@blp.response(200, AckLinkOut)
@public
def acknowledge(token):
    """Mark the referral `received`; the link then stops working (single use, expiring)."""
    return _answer(lambda: ack_links.use(db.session, token, current_app.config["CASEAPP"],
                                         source_ip=request.remote_addr,
                                         user_agent=request.headers.get("User-Agent")),
                   done=True)
