"""The rules service: reading a file, the months of a replay, the history of versions."""

from datetime import date

import pytest

from caseapp.rules import nankoku_ruleset_data
from caseapp.services.core.actors import Actor
from caseapp.services.core.errors import Invalid, NotFound
from caseapp.services.intake import rulesets

ADMIN = Actor(user_id=None, name="yamamoto", role="admin")


@pytest.mark.parametrize(("months", "today", "since"), [
    (3, date(2026, 11, 30), date(2026, 8, 30)),
    (1, date(2026, 3, 31), date(2026, 2, 28)),
    (12, date(2026, 1, 15), date(2025, 1, 15)),
    (1, date(2026, 1, 10), date(2025, 12, 10)),
])
def test_months_back_land_on_a_real_day(months, today, since):
    assert rulesets.since_for(months, today) == since


def test_a_preview_reports_problems_and_keeps_the_text(seeded):
    preview = rulesets.preview(seeded, ADMIN, "rules: [", months=2)
    assert not preview.ok and preview.problems[0].field == "(file)"
    assert preview.problems[0].message.startswith("ファイルを YAML/JSON として読めません")
    assert preview.text == "rules: ["
    with pytest.raises(Invalid):
        rulesets.preview(seeded, ADMIN, "rules: []", months=0)


def test_the_editor_starts_from_the_active_version(seeded):
    text = rulesets.source_text(seeded)
    assert "id: elderly" in text and nankoku_ruleset_data()["version"] in text
    with pytest.raises(NotFound):
        rulesets.source_text(seeded, 42)
    row = rulesets.adopt_text(seeded, ADMIN, text)
    assert row.version == 2
    assert [v.version for v in rulesets.history(seeded)] == [2, 1]
