"""The area tree a process keeps for building scopes: a change made elsewhere (another process,
the CLI's import) is in the next scoped transaction, found by the version the areas' triggers
change, not by reading the whole tree per request."""

from datetime import UTC, datetime

import pytest
from sqlalchemy import delete, insert, select, update

from caseapp.extensions import db
from caseapp.models import Area, AreaTreeVersion
from caseapp.services.community import areas
from caseapp.services.core import scope

pytestmark = pytest.mark.real_commits  # a second connection changes what the first committed


def version() -> int:
    with db.engine.connect() as conn:
        return conn.scalar(select(AreaTreeVersion.version))


def elsewhere(statement) -> None:
    """As another process would: its own connection, committed, nothing told to this one."""
    with db.engine.begin() as conn:
        conn.execute(statement)


def test_a_district_added_elsewhere_is_in_the_next_scope(seeded):
    seeded.commit()
    town = areas.municipality(seeded, None).id
    scope.enter(seeded, scope.for_municipality(seeded, town))
    assert seeded.scalars(select(Area.code)).all()  # the cached tree is in use
    before = set(scope.current(seeded).areas)
    seeded.commit()

    elsewhere(insert(Area).values(code="392049-D99", name="新しい地区", level="district",
                                  parent_id=town))
    new_id = db.session.scalar(select(Area.id).where(Area.code == "392049-D99"))
    seeded.commit()

    # Made from the tree this process holds; entering checks the version and makes it again.
    scope.enter(seeded, scope.for_municipality(seeded, town))
    assert "392049-D99" in seeded.scalars(select(Area.code)).all()
    assert set(scope.current(seeded).areas) == before | {new_id}
    scope.leave(seeded)
    seeded.commit()


def test_a_district_removed_elsewhere_is_gone_from_the_next_scope(seeded):
    town = areas.municipality(seeded, None).id
    seeded.execute(insert(Area).values(code="392049-D98", name="消える地区", level="district",
                                       parent_id=town))
    seeded.commit()
    scope.enter(seeded, scope.for_municipality(seeded, town))
    gone = seeded.scalar(select(Area.id).where(Area.code == "392049-D98"))
    assert gone in scope.current(seeded).areas
    scope.leave(seeded)
    seeded.commit()

    elsewhere(delete(Area).where(Area.id == gone))
    scope.enter(seeded, scope.for_municipality(seeded, town))
    seeded.scalars(select(Area.code)).all()
    assert gone not in scope.current(seeded).areas
    scope.leave(seeded)
    seeded.commit()


def test_the_version_changes_with_the_trees_shape_and_nothing_else(seeded):
    town = areas.municipality(seeded, None).id
    seeded.commit()
    start = version()
    elsewhere(update(Area).where(Area.id == town)
              .values(meeting_due_at=datetime(2026, 12, 1, tzinfo=UTC), name="南国市"))
    assert version() == start  # a meeting's due date moves often and matters not
    elsewhere(insert(Area).values(code="392049-D97", name="地区", level="district",
                                  parent_id=town))
    added = version()
    assert added != start
    elsewhere(update(Area).where(Area.code == "392049-D97").values(level="small_area"))
    moved = version()
    assert moved != added
    elsewhere(delete(Area).where(Area.code == "392049-D97"))
    assert version() not in (start, added, moved)
