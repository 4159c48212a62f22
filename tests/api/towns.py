"""A second municipality on the platform for the boundary tests: Nakatosa with its staff, and a
request sent with any token."""

from caseapp.services.community import areas
from caseapp.services.core import auth
from caseapp.services.network import seed


def nakatosa_staff(session) -> dict[str, str]:
    """Nakatosa's areas, network, rule set, and a token per staff role."""
    seed.seed_network(session, "nakatosa")
    town = areas.municipality(session, "nakatosa").id
    return {role: auth.create_user(session, f"nakatosa-{role}", role, municipality_id=town)[1]
            for role in ("counter", "supervisor", "admin")}


def send(api, token, method, path, body=None, query=None):
    return api.client.open(path, method=method, json=body if method != "GET" else None,
                           query_string=query, headers={"Authorization": f"Bearer {token}"})
