"""``GET /``: the console for a browser, the index of what this server offers for anyone else.

A browser (asking for text/html) is sent to sign in, then to its side of the console: staff to
ホーム, partner users to their inbox. An API client asking for JSON gets the index as JSON; a
client that names no type (curl) gets it as a small Japanese page.
"""

from flask import jsonify, redirect, render_template, request, url_for

from caseapp.extensions import db
from caseapp.services.casework import queue
from caseapp.web.access import console_blueprint, current_actor, current_user, home_for, public

bp = console_blueprint("home", __name__)


def _asked_for(kind: str) -> float:
    # Only a type named outright counts: "*/*" is what scripts send.
    return max((q for value, q in request.accept_mimetypes if value == kind), default=0)


def _links() -> dict:
    return {
        "console": url_for("signin.login"),
        "docs": url_for("api-docs.openapi_swagger_ui"),
        "openapi": url_for("api-docs.openapi_json"),
        "health": url_for("health.health"),
    }


@bp.route("/")
@public
def index():
    html, json = _asked_for("text/html"), _asked_for("application/json")
    if json > html:
        return jsonify(name="caseapp", title="断らない・迷子にさせない相談窓口", links=_links())
    if not html:
        return render_template("api_index.html", links=_links())
    user = current_user()
    if user is None:
        return redirect(url_for("signin.login"))
    if user.role in ("partner", "member", "prefecture"):
        return redirect(home_for(user))
    # Every other role is a staff role (sign-in admits no other).
    return render_template("console/home.html",
                           queue=queue.for_actor(db.session, current_actor()))
