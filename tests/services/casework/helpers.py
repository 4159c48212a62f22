"""Times, due cases and concurrent sweeps for the reminder tests."""

import threading
from datetime import datetime, timedelta

from caseapp.extensions import db
from caseapp.models import Case
from caseapp.rules.calendar import TOKYO
from caseapp.services.casework import reminders


def tokyo(y, m, d, hh=10, mm=0):
    return datetime(y, m, d, hh, mm, tzinfo=TOKYO)


def due_cases(session, owner, at: datetime, count: int = 1) -> list[Case]:
    """Open cases whose next action falls at `at` (a second apart), each with its reminder."""
    made = []
    for i in range(count):
        case = Case(owner_id=owner.id, status="open", next_action_at=at + timedelta(seconds=i))
        session.add(case)
        session.flush()
        reminders.on_case_change(session, case)
        made.append(case)
    session.commit()
    return made


def in_two_threads(app, work) -> list:
    """`work(session, start)` in two threads at once, each on its own session and connection;
    `start.wait()` holds each until both are there. Their results, in thread order."""
    start = threading.Barrier(2, timeout=30)
    outcomes: list = [None, None]
    errors = []

    def run(index):
        try:
            with app.app_context():
                outcomes[index] = work(db.session, start)
                db.session.remove()
        except Exception as exc:  # surfaced below; a thread's exception is otherwise lost
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors
    return outcomes
