from flask_smorest import Blueprint

from caseapp.api.auth import current_actor, requires
from caseapp.api.schemas.households import (
    HouseholdIn,
    HouseholdMemberIn,
    HouseholdOut,
    HouseholdPatch,
    RelationshipIn,
)
from caseapp.extensions import db
from caseapp.permissions import Permission
from caseapp.services.clients import households

blp = Blueprint("households", __name__, url_prefix="/api/v1/households",
                description="世帯: clients living together")


@blp.route("", methods=["POST"])
@blp.arguments(HouseholdIn)
@blp.response(201, HouseholdOut)
@requires(Permission.CLIENTS_WRITE)
def create(data):
    """Create a household, optionally with its members and their relationships (続柄)."""
    household = households.create(db.session, current_actor(), data)
    return household


@blp.route("/<int:household_id>", methods=["GET"])
@blp.response(200, HouseholdOut)
@requires(Permission.CLIENTS_READ)
def get(household_id):
    """One household with its members and cases (audited read)."""
    household = households.get(db.session, current_actor(), household_id)
    return household


@blp.route("/<int:household_id>", methods=["PATCH"])
@blp.arguments(HouseholdPatch)
@blp.response(200, HouseholdOut)
@requires(Permission.CLIENTS_WRITE)
def patch(changes, household_id):
    """Change a household's name, address or note."""
    household = households.update(db.session, current_actor(), household_id, changes)
    return household


@blp.route("/<int:household_id>/members", methods=["POST"])
@blp.arguments(HouseholdMemberIn)
@blp.response(201, HouseholdOut)
@requires(Permission.CLIENTS_WRITE)
def add_member(data, household_id):
    """Add a client to the household; a client already in another household is a 409."""
    household = households.add_member(db.session, current_actor(), household_id,
                                      data["client_id"], data["relationship"])
    return household


@blp.route("/<int:household_id>/members/<int:client_id>", methods=["PATCH"])
@blp.arguments(RelationshipIn)
@blp.response(200, HouseholdOut)
@requires(Permission.CLIENTS_WRITE)
def change_member(data, household_id, client_id):
    """Change a member's relationship to the household."""
    household = households.change_member(db.session, current_actor(), household_id,
                                         client_id, data["relationship"])
    return household


@blp.route("/<int:household_id>/members/<int:client_id>", methods=["DELETE"])
@blp.response(200, HouseholdOut)
@requires(Permission.CLIENTS_WRITE)
def remove_member(household_id, client_id):
    """Remove a client from the household (the client record stays)."""
    household = households.remove_member(db.session, current_actor(), household_id, client_id)
    return household
