"""Fixtures of the reminder tests: a clock moved by hand, short chains, a counter worker and
her supervisor, a notifier that records."""

import pytest
import time_machine

from caseapp.services.core import auth
from caseapp.services.delivery.notifier import EXTENSION_KEY, RecordingNotifier
from tests.services.casework.helpers import tokyo


@pytest.fixture
def clock():
    """A stopped clock the test moves by hand."""
    traveller = time_machine.travel(tokyo(2026, 11, 2), tick=False)
    shifted = traveller.start()
    yield shifted
    traveller.stop()


@pytest.fixture
def policy(app, monkeypatch):
    """Short chains so escalation is reached in a few business days."""
    config = app.config["CASEAPP"].with_(escalate_after=2, reminder_repeat_days=1,
                                         partner_progress_days=10, client_followup_days=5,
                                         supervisor_email=None)
    monkeypatch.setitem(app.config, "CASEAPP", config)
    return config


@pytest.fixture
def people(seeded):
    owner, _ = auth.create_user(seeded, "owner", "counter", email="owner@counter.example.jp")
    boss, _ = auth.create_user(seeded, "boss", "supervisor", email="boss@counter.example.jp")
    return {"owner": owner, "boss": boss}


@pytest.fixture
def notifier(app, monkeypatch):
    recording = RecordingNotifier()
    monkeypatch.setitem(app.extensions, EXTENSION_KEY, recording)
    return recording
