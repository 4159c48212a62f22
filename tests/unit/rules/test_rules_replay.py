"""Replaying consultations through an old and a new rule set."""

from __future__ import annotations

import json
from datetime import date

from caseapp.rules import (
    NANKOKU_PARTNERS,
    ReplayExample,
    Subject,
    compile_ruleset,
    nankoku_ruleset_data,
    replay,
)

ON = date(2026, 11, 27)
OLD = compile_ruleset(nankoku_ruleset_data(), NANKOKU_PARTNERS)


def lowered_scrivener_limit():
    data = nankoku_ruleset_data()
    data["version"] = "nankoku-2026.3"
    data["tables"]["scrivener_limit"] = 1_000_000
    return compile_ruleset(data, NANKOKU_PARTNERS)


def debtor(*principals):
    return Subject(topics=("debt",), facts={"debts": [{"principal": p} for p in principals]},
                   on=ON)


SUBJECTS = [
    ("c1", debtor(1_200_000)),              # scrivener before, lawyer after
    ("c2", debtor(500_000)),                # scrivener both times
    ("c3", debtor(1_500_000)),              # lawyer both times
    ("c4", Subject(topics=("other",), on=ON)),
    ("c5", debtor(300_000, 1_100_000)),     # scrivener before, lawyer after
]


def test_counts_changes_and_examples():
    report = replay(OLD, lowered_scrivener_limit(), SUBJECTS)
    assert (report.old_version, report.new_version) == ("nankoku-2026.2", "nankoku-2026.3")
    assert report.total == 5
    assert report.changed == 2
    assert report.counts["shihoshoshi"]["refer"] == [3, 1]
    assert report.counts["bengoshi"]["refer"] == [1, 3]
    assert report.counts["jiritsu"]["refer"] == [1, 1]
    assert report.counts["houterasu"]["suggest"] == [4, 4]
    assert report.examples == [
        ReplayExample("c1", ("houterasu?", "shihoshoshi"), ("houterasu?", "bengoshi")),
        ReplayExample("c5", ("houterasu?", "shihoshoshi"), ("houterasu?", "bengoshi")),
    ]


def test_examples_are_capped_but_changes_are_all_counted():
    report = replay(OLD, lowered_scrivener_limit(), SUBJECTS, examples=1)
    assert report.changed == 2
    assert [e.key for e in report.examples] == ["c1"]


def test_same_rules_change_nothing():
    report = replay(OLD, OLD, SUBJECTS)
    assert report.changed == 0 and report.examples == []
    assert all(before == after for by in report.counts.values() for before, after in by.values())


def test_a_suggestion_becoming_a_referral_is_a_change():
    data = nankoku_ruleset_data()
    for rule in data["rules"]:
        if rule["id"] == "isolation_listening":
            rule["then"]["action"] = "refer"
    report = replay(OLD, compile_ruleset(data, NANKOKU_PARTNERS),
                    [("lonely", Subject(topics=("community_relations",), on=ON))])
    assert report.changed == 1
    (example,) = report.examples
    assert example.before == ("keicho?", "minsei?", "attaka?", "jiritsu")
    assert example.after == ("keicho", "minsei", "attaka?")
    assert report.counts["jiritsu"]["refer"] == [1, 0]


def test_text_and_dict():
    report = replay(OLD, lowered_scrivener_limit(), SUBJECTS)
    text = report.to_text()
    assert "Replayed 5 consultations: rule set nankoku-2026.2 -> nankoku-2026.3" in text
    assert "Routing changed for 2 (40.0%)" in text
    assert "  c1: houterasu?, shihoshoshi -> houterasu?, bengoshi" in text
    shihoshoshi = next(line for line in text.splitlines() if line.startswith("shihoshoshi"))
    assert shihoshoshi.split() == ["shihoshoshi", "3", "1", "0", "0"]
    data = report.to_dict()
    assert json.loads(json.dumps(data)) == data
    assert data["examples"][0] == {"key": "c1", "before": ["houterasu?", "shihoshoshi"],
                                   "after": ["houterasu?", "bengoshi"]}


def test_empty_replay():
    report = replay(OLD, OLD, [])
    assert (report.total, report.changed) == (0, 0)
    assert "Routing changed for 0" in report.to_text()
