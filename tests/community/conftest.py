"""A Hidaka district and its neighbour: areas seeded, staff and community members with tokens."""

from datetime import timedelta

import pytest
from sqlalchemy import update

from caseapp.models import User
from caseapp.models.types import utcnow
from caseapp.rules.calendar import TOKYO
from caseapp.services.community import areas, members
from caseapp.services.network import seed

DISTRICT, NEXT_DISTRICT = "394106-S03", "394106-S04"


def today():
    return utcnow().astimezone(TOKYO).date()


def make_member(session, name, role, area, *, ends_in_days=900, began_days_ago=400):
    made = members.create(session, name, role, area,
                          term_from=today() - timedelta(days=began_days_ago),
                          term_to=today() + timedelta(days=ends_in_days))
    return made.member.id, made.token


@pytest.fixture
def hidaka_staff(seeded, tokens):
    """Hidaka's areas, network and rule set, and the test staff working for Hidaka."""
    staff_to_hidaka(seeded)
    return tokens


def staff_to_hidaka(session) -> None:
    """Hidaka's areas, network and rule set; the staff of these tests work for Hidaka, so the
    areas are theirs to read and change."""
    seed.seed_network(session, "hidaka")
    town = areas.municipality(session, "hidaka")
    session.execute(update(User).where(User.municipality_id.isnot(None))
                    .values(municipality_id=town.id))
    session.commit()


@pytest.fixture
def hidaka(seeded, hidaka_staff):
    people = {}
    for key, name, role, area in (("minsei", "高橋 民子", "minsei", DISTRICT),
                                  ("fukushi", "西村 福子", "fukushi", DISTRICT),
                                  ("neighbour", "岡田 隣", "minsei", NEXT_DISTRICT)):
        people[key] = make_member(seeded, name, role, area)
    return people


def new_client(api, name, address):
    response = api.post("/api/v1/clients", json={"name": name, "address": address})
    assert response.status_code == 201, response.json
    return response.json["id"]
