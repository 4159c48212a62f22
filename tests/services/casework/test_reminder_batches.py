"""The sweep sends reminders a batch per transaction, with the same exactly-once claim."""

import pytest
from sqlalchemy import func, select

from caseapp.models import Reminder, StaffNotice
from caseapp.models.types import utcnow
from caseapp.services.casework import reminders
from tests.services.casework.helpers import due_cases, in_two_threads, tokyo


def notices_per_reminder(session) -> dict[int, int]:
    return dict(session.execute(select(StaffNotice.reminder_id, func.count())
                                .group_by(StaffNotice.reminder_id)).all())


def test_one_failing_reminder_neither_loses_nor_doubles_the_rest_of_its_batch(
        session, app, people, policy, clock, monkeypatch):
    clock.move_to(tokyo(2026, 11, 16, 9))
    due_cases(session, people["owner"], tokyo(2026, 11, 16, 10), 6)
    clock.move_to(tokyo(2026, 11, 16, 11))
    ids = list(session.scalars(select(Reminder.id).order_by(Reminder.id)))
    bad = ids[2]
    real = reminders._deliver

    def flaky(session_, reminder, *args, **kwargs):
        real(session_, reminder, *args, **kwargs)  # its rows are written, then it fails
        if reminder.id == bad:
            raise RuntimeError("mail template broken")

    monkeypatch.setattr(reminders, "_deliver", flaky)
    assert reminders.sweep(session, batch=50) == {"sent": 5, "error": 1}
    assert notices_per_reminder(session) == {i: 1 for i in ids if i != bad}
    assert session.get(Reminder, bad, populate_existing=True).status == "due"
    monkeypatch.setattr(reminders, "_deliver", real)
    assert reminders.sweep(session) == {"sent": 1}
    assert reminders.sweep(session) == {}
    assert notices_per_reminder(session) == {i: 1 for i in ids}


@pytest.mark.real_commits  # two threads, two connections
def test_two_concurrent_batch_sweeps_send_each_reminder_once(
        session, app, people, policy, clock):
    clock.move_to(tokyo(2026, 11, 16, 9))
    count = 60
    due_cases(session, people["owner"], tokyo(2026, 11, 16, 10), count)
    clock.move_to(tokyo(2026, 11, 16, 11))
    now = utcnow()

    def sweep(own, start):
        ids = reminders.due_ids(own, now)
        start.wait()  # both hold the full list before either claims
        total = {}
        for first in range(0, len(ids), 20):
            for key, n in reminders.fire_batch(own, ids[first:first + 20], now).items():
                total[key] = total.get(key, 0) + n
        return total

    outcomes = in_two_threads(app, sweep)
    assert outcomes[0].get("sent", 0) + outcomes[1].get("sent", 0) == count
    assert set(notices_per_reminder(session).values()) == {1}
    assert len(notices_per_reminder(session)) == count
