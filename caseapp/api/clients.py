from flask_smorest import Blueprint

from caseapp.api.auth import current_actor, requires
from caseapp.api.schemas.clients import (
    ClientCreatedOut,
    ClientDetailOut,
    ClientIn,
    ClientPatch,
    ClientSearchArgs,
    ClientSearchPage,
    ClientUpdatedOut,
    DuplicatesOut,
    MergeIn,
)
from caseapp.extensions import db
from caseapp.permissions import Permission
from caseapp.services.clients import merge as client_merge
from caseapp.services.clients import records

blp = Blueprint("clients", __name__, url_prefix="/api/v1/clients", description="相談者")


@blp.route("", methods=["POST"])
@blp.arguments(ClientIn)
@blp.response(201, ClientCreatedOut)
@requires(Permission.CLIENTS_WRITE)
def create(data):
    """Register a client; likely duplicates are proposed, never merged."""
    return records.register(db.session, current_actor(), data)


@blp.route("", methods=["GET"])
@blp.arguments(ClientSearchArgs, location="query")
@blp.response(200, ClientSearchPage)
@requires(Permission.CLIENTS_READ)
def search(args):
    """Find clients by name, reading (any kana form, 旧字体) or phone; best matches first."""
    page = records.search(db.session, current_actor(), args["q"], args["page"],
                          args["per_page"], birth_date=args.get("birth_date"))
    return page


@blp.route("/<int:client_id>", methods=["GET"])
@blp.response(200, ClientDetailOut)
@requires(Permission.CLIENTS_READ)
def get(client_id):
    """One client with cases, consents and household (audited read); a merged id is 404."""
    client = records.get(db.session, current_actor(), client_id)
    return client


@blp.route("/<int:client_id>", methods=["PATCH"])
@blp.arguments(ClientPatch)
@blp.response(200, ClientUpdatedOut)
@requires(Permission.CLIENTS_WRITE)
def patch(changes, client_id):
    """Correct a client's details; the answer proposes duplicates the fix reveals."""
    return records.correct(db.session, current_actor(), client_id, changes)


@blp.route("/<int:client_id>/duplicates", methods=["GET"])
@blp.response(200, DuplicatesOut)
@requires(Permission.CLIENTS_READ)
def duplicates(client_id):
    """Records that may be the same person (名寄せ候補), with the reasons; nothing is merged."""
    found = records.duplicates_of(db.session, current_actor(), client_id)
    return {"client_id": client_id, "possible_duplicates": found}


@blp.route("/<int:client_id>/merge", methods=["POST"])
@blp.arguments(MergeIn)
@blp.response(200, ClientDetailOut)
@requires(Permission.CLIENTS_MERGE)
def merge(data, client_id):
    """Merge `duplicate_id` into this client, which keeps its id; audited, one transaction."""
    client = client_merge.merge(db.session, current_actor(), client_id, data["duplicate_id"],
                                reason=data.get("reason"))
    return client
