"""`python -m caseapp.cli` as the tests start it: on the test's clock, keeping a task ledger.

CASEAPP_TEST_NOW (an ISO time with its offset) starts the process's clock there, ticking, so a
worker sees the time the test pinned. CASEAPP_TEST_TASK_LEDGER names a file that gets one JSON
line per finished task, so a test can wait until the worker has handled every message it sent
instead of sleeping. Both are test-only: the product reads neither.
"""

import json
import os
import sys
from datetime import datetime


def pin_clock() -> None:
    now = os.environ.get("CASEAPP_TEST_NOW")
    if now:
        import time_machine

        time_machine.travel(datetime.fromisoformat(now), tick=True).start()


def keep_ledger() -> None:
    path = os.environ.get("CASEAPP_TEST_TASK_LEDGER")
    if not path:
        return
    from celery.signals import task_postrun

    # Connected before the pool forks, so every pool process inherits it.
    @task_postrun.connect(weak=False)
    def record(sender=None, task_id=None, args=None, retval=None, state=None, **_):
        line = json.dumps({"task": sender.name, "id": task_id, "args": list(args or ()),
                           "state": state, "retval": retval if isinstance(retval, str | int)
                           else repr(retval)})
        # One short O_APPEND write per line: concurrent pool processes do not interleave.
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, (line + "\n").encode())
        finally:
            os.close(fd)


if __name__ == "__main__":
    pin_clock()
    keep_ledger()
    from caseapp.cli import main

    sys.argv[0] = "caseapp"
    sys.exit(main())
