"""The shipped networks: each municipality's partners and rule set, loaded idempotently.

Partners carry their layer: a municipality's own, or a block's (福祉保健所) or the prefecture's,
shared by every municipality under it. Codes are unique across the platform.
"""

from importlib import resources

import yaml
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from caseapp import rules
from caseapp.models import Partner, RuleSetVersion
from caseapp.services.community import areas
from caseapp.services.core import scope
from caseapp.services.intake import routing

NETWORKS = ("nankoku", "nakatosa", "hidaka")


def _data(name: str) -> dict:
    text = resources.files("caseapp.data").joinpath(f"{name}_network.yaml").read_text("utf-8")
    return yaml.safe_load(text)


def network_data(name: str = "nankoku") -> list[dict]:
    return _data(name)["partners"]


def ruleset_data(name: str) -> dict:
    if name == "nankoku":
        return rules.nankoku_ruleset_data()
    text = resources.files("caseapp.data").joinpath(f"{name}_rules.yaml").read_text("utf-8")
    return rules.load_ruleset_text(text)


def is_empty(session: Session) -> bool:
    return not session.scalar(select(func.count()).select_from(Partner))


def seed_nankoku(session: Session) -> dict:
    return seed_network(session, "nankoku")


def seed_network(session: Session, name: str) -> dict:
    """Add the areas and partners that are missing and a first rule set; never overwrite an
    admin's edits."""
    areas.seed(session, name)
    town = areas.municipality(session, name)
    existing = set(session.scalars(select(Partner.code)))
    added = []
    for row in network_data(name):
        if row["code"] in existing:
            continue
        session.add(Partner(**row, area_id=areas.serving_area(town, row.get("layer")).id))
        added.append(row["code"])
    session.flush()
    ruleset_added = None
    scope.enter(session, scope.for_municipality(session, town.id))
    try:
        if not session.scalar(select(func.count()).select_from(RuleSetVersion)):
            ruleset_added = routing.adopt(session, ruleset_data(name), None).version
        session.commit()
    finally:
        scope.leave(session)
    return {"partners_added": added, "ruleset_version": ruleset_added}
