"""The shipped Nankoku network: partners and the rule set, loaded idempotently."""

from importlib import resources

import yaml
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from caseapp import rules
from caseapp.models import Partner, RuleSetVersion
from caseapp.services.intake import routing


def network_data() -> list[dict]:
    text = resources.files("caseapp.data").joinpath("nankoku_network.yaml").read_text("utf-8")
    return yaml.safe_load(text)["partners"]


def is_empty(session: Session) -> bool:
    return not session.scalar(select(func.count()).select_from(Partner))


def seed_nankoku(session: Session) -> dict:
    """Add the partners that are missing and a first rule set; never overwrite an admin's edits."""
    existing = set(session.scalars(select(Partner.code)))
    added = []
    for row in network_data():
        if row["code"] not in existing:
            session.add(Partner(**row))
            added.append(row["code"])
    session.flush()
    ruleset_added = None
    if session.scalar(select(func.count()).select_from(RuleSetVersion)) == 0:
        ruleset_added = routing.adopt(session, rules.nankoku_ruleset_data(), None).version
    session.commit()
    return {"partners_added": added, "ruleset_version": ruleset_added}
