from flask_smorest import Blueprint

from caseapp.api.auth import current_actor, requires
from caseapp.api.schemas import (
    ClientCreatedOut,
    ClientDetailOut,
    ClientIn,
    ClientPage,
    ClientSearchArgs,
)
from caseapp.extensions import db
from caseapp.permissions import Permission
from caseapp.services import clients

blp = Blueprint("clients", __name__, url_prefix="/api/v1/clients", description="相談者")


@blp.route("", methods=["POST"])
@blp.arguments(ClientIn)
@blp.response(201, ClientCreatedOut)
@requires(Permission.CLIENTS_WRITE)
def create(data):
    """Register a client; likely duplicates are proposed, never merged."""
    client = clients.create(db.session, current_actor(), data)
    client.possible_duplicates = clients.possible_duplicates(db.session, client)
    db.session.commit()
    return client


@blp.route("", methods=["GET"])
@blp.arguments(ClientSearchArgs, location="query")
@blp.response(200, ClientPage)
@requires(Permission.CLIENTS_READ)
def search(args):
    """Find clients by name, reading (any kana form) or phone."""
    page = clients.search(db.session, current_actor(), args["q"], args["page"], args["per_page"])
    db.session.commit()
    return page


@blp.route("/<int:client_id>", methods=["GET"])
@blp.response(200, ClientDetailOut)
@requires(Permission.CLIENTS_READ)
def get(client_id):
    """One client with cases and consents (audited read)."""
    client = clients.get(db.session, current_actor(), client_id)
    db.session.commit()
    return client
