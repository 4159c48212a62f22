from flask import request
from flask_smorest import Blueprint

from caseapp.api.auth import current_actor, requires
from caseapp.api.schemas.rules import (
    RULESET_BODY,
    EvaluateIn,
    EvaluateOut,
    ReplayArgs,
    ReplayOut,
    RuleSetOut,
    RuleVersionOut,
)
from caseapp.extensions import db
from caseapp.permissions import Permission
from caseapp.services.intake import routing, rulesets

blp = Blueprint("rules", __name__, url_prefix="/api/v1/rules",
                description="ルール: the versioned routing rule set")


@blp.route("", methods=["GET"])
@blp.response(200, RuleSetOut)
@requires(Permission.RULES_READ)
def get_rules():
    """The active rule set with its version."""
    return routing.current_source(db.session)


@blp.route("", methods=["PUT"])
@blp.doc(requestBody=RULESET_BODY)
@blp.response(200, RuleSetOut)
@requires(Permission.RULES_ADMIN)
def put_rules():
    """Validate a whole rule set (JSON or YAML) and adopt it as the next version."""
    data = rulesets.parse_text(request.get_data(as_text=True), request.mimetype)
    data.pop("version", None)  # the server numbers versions
    rulesets.adopt(db.session, current_actor(), data)
    return routing.current_source(db.session)


@blp.route("/versions", methods=["GET"])
@blp.response(200, RuleVersionOut(many=True))
@requires(Permission.RULES_READ)
def versions():
    """Every adopted version, newest first: when, by whom, and which was adopted again."""
    return rulesets.history(db.session)


@blp.route("/versions/<int:version>/adopt", methods=["POST"])
@blp.response(200, RuleSetOut)
@requires(Permission.RULES_ADMIN)
def readopt(version: int):
    """Adopt an earlier version again, as the next version."""
    rulesets.readopt(db.session, current_actor(), version)
    return routing.current_source(db.session)


@blp.route("/replay", methods=["POST"])
@blp.doc(requestBody=RULESET_BODY)
@blp.arguments(ReplayArgs, location="query")
@blp.response(200, ReplayOut)
@requires(Permission.RULES_ADMIN)
def replay(args):
    """How the last N months of consultations would have been routed by a candidate set."""
    preview = rulesets.preview(db.session, current_actor(), request.get_data(as_text=True),
                               months=args["months"], examples=args["examples"],
                               mimetype=request.mimetype)
    if not preview.ok:
        raise rulesets.refused(preview.problems)
    return preview


@blp.route("/evaluate", methods=["POST"])
@blp.arguments(EvaluateIn)
@blp.response(200, EvaluateOut)
@requires(Permission.RULES_READ)
def evaluate(data):
    """Dry run: where this consultation would go; nothing is stored."""
    return routing.evaluate(db.session, current_actor(), data)
