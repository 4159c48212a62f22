import json

from flask import request
from flask_smorest import Blueprint

from caseapp import rules
from caseapp.api.auth import current_actor, requires
from caseapp.api.schemas.rules import RULESET_BODY, EvaluateIn, EvaluateOut, RuleSetOut
from caseapp.extensions import db
from caseapp.permissions import Permission
from caseapp.services.core.errors import Invalid
from caseapp.services.intake import routing

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
    return routing.adopt_ruleset(db.session, current_actor(), _ruleset_body())


def _ruleset_body() -> dict:
    text = request.get_data(as_text=True)
    if not text.strip():
        raise Invalid("empty body", errors={"_schema": ["ルールセットを送ってください"]})
    if request.mimetype == "application/json":
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise Invalid("malformed JSON", errors={"(file)": [str(exc)]}) from exc
    else:
        try:
            data = rules.load_ruleset_text(text)
        except rules.RuleSetInvalid as exc:
            raise Invalid("rule file could not be read",
                          errors=routing.problems_as_errors(exc.problems)) from exc
    if not isinstance(data, dict):
        raise Invalid("a rule set is an object with rules",
                      errors={"_schema": ["{\"rules\": [...]} の形で送ってください"]})
    data.pop("version", None)  # the server numbers versions
    return data


@blp.route("/evaluate", methods=["POST"])
@blp.arguments(EvaluateIn)
@blp.response(200, EvaluateOut)
@requires(Permission.RULES_READ)
def evaluate(data):
    """Dry run: where this consultation would go; nothing is stored."""
    return routing.evaluate(db.session, current_actor(), data)
