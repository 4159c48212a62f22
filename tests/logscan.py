"""No personal data in any log line of a test run (a pytest plugin, on for every run).

What is scanned: every record logged in the pytest process, at INFO and above (DEBUG for
caseapp's own loggers), formatted by the app's JSON formatter into a file of this run; and the
output of every worker or server process the tests start, which they send beside it
(:func:`output`, :func:`tee`).

What is looked for: every name, reading, phone number and address the tests wrote — whatever the
ORM flushes for a client or a household in this process, and the client fields of the requests
the tests send (:func:`note_request`), which covers what was refused or went to a server's own
database. Values too short or too plain to mean anything (what a fuzzer makes) are left out.

At the end of the session the files are searched for all of them at once (Aho-Corasick); a hit
fails the run with the file and line where it stands, the value masked, and the files are kept.
Without a hit the files are removed. (PYTEST_DONT_REWRITE: conftest imports it before pytest
loads it as a plugin, and it asserts nothing.)
"""

from __future__ import annotations

import contextlib
import itertools
import json
import logging
import shutil
import subprocess
import tempfile
import threading
from pathlib import Path

import pytest

_PERSONAL_COLUMNS = {"Client": ("name", "name_kana", "phone", "address"),
                     "Household": ("name", "address")}
_REQUEST_FIELDS = ("name", "name_kana", "phone", "address")
_SHOWN = 20  # hits listed; the rest are counted
_OWNER = pytest.StashKey["_Run"]()
_REPORT = pytest.StashKey[tuple[list[str], bool]]()


class _Run:
    def __init__(self, folder: Path):
        self.folder = folder
        self.values: dict[str, str] = {}  # value -> what it is
        self.handler: logging.Handler | None = None
        self.levels: dict[str, int] = {}
        self.counter = itertools.count(1)


_run: _Run | None = None


# -- what the tests may call -------------------------------------------------------------------

def worth_checking(value: str) -> bool:
    """A value a hit on would mean something: not a fuzzer's "0" or "aaaaaa"."""
    value = value.strip()
    if len(value) < 2 or len(set(value)) < 2:
        return False
    if value in _vocabulary():
        return False  # a fuzzer's "counter" is the role every request line names
    if value.isascii():
        letters = sum(ch.isalpha() for ch in value)
        digits = sum(ch.isdigit() for ch in value)
        # Phone numbers have 10 or 11 digits; shorter runs turn up in ids and timestamps.
        return len(set(value)) >= 4 and (letters >= 4 or digits >= 10)
    return any(ch.isalnum() for ch in value)


_generated = threading.local()


@contextlib.contextmanager
def generated_data():
    """What is written inside is a generator's random text (schemathesis), nobody's data: a
    random "POST" for a name would otherwise be found in every request line."""
    _generated.on = True
    try:
        yield
    finally:
        _generated.on = False


def _vocabulary() -> frozenset[str]:
    from caseapp.domain.community import SITES
    from caseapp.permissions import ROLES
    from caseapp.rules import CHANNELS

    return frozenset((*ROLES, *SITES, *CHANNELS))


def register(value, what: str = "personal value") -> None:
    """Look for `value` in the logs of this run (whole, and each part of a spaced name)."""
    if _run is None or not isinstance(value, str) or getattr(_generated, "on", False):
        return
    for candidate in {value.strip(), *value.split()}:
        if worth_checking(candidate):
            _run.values.setdefault(candidate, what)


def note_request(path: str, body) -> None:
    """Register the client fields of a request body the tests send."""
    if not isinstance(body, dict):
        return
    found = [body.get("client")]
    if "/clients" in path or "/households" in path:
        found.append(body)
    for fields in found:
        if isinstance(fields, dict):
            for key in _REQUEST_FIELDS:
                register(fields.get(key), f"client {key}")


def output(label: str):
    """A new file of this run for a process's output (binary, to pass as stdout/stderr)."""
    folder = _run.folder if _run is not None else Path(tempfile.mkdtemp(prefix="caseapp-out-"))
    number = next(_run.counter) if _run is not None else 0
    return open(folder / f"{label}-{number}.log", "wb")


def tee(proc: subprocess.Popen, label: str) -> list[str]:
    """Read a text-mode process's stdout into a list as it comes, keeping it for the scan."""
    lines: list[str] = []
    sink = output(label)

    def pump():
        with sink:
            for line in proc.stdout:
                lines.append(line)
                sink.write(line.encode("utf-8", "backslashreplace"))
                sink.flush()

    threading.Thread(target=pump, daemon=True).start()
    return lines


def registered() -> dict[str, str]:
    return dict(_run.values) if _run is not None else {}


# -- collecting --------------------------------------------------------------------------------

def _on_flush(session, _context, _instances) -> None:
    from caseapp.services.rights.retention import ANONYMISED  # what replaces a name: no one's

    for obj in itertools.chain(session.new, session.dirty):
        columns = _PERSONAL_COLUMNS.get(type(obj).__name__)
        for column in columns or ():
            value = getattr(obj, column, None)
            if value != ANONYMISED:
                register(value, f"{type(obj).__name__.lower()} {column}")


def _start_logging(run: _Run) -> None:
    from caseapp.services.ops import logs

    handler = logging.FileHandler(run.folder / "pytest.log", encoding="utf-8", delay=True)
    handler.setFormatter(logs.formatter())
    handler.addFilter(logs.RequestIdFilter())
    root, own = logging.getLogger(), logging.getLogger("caseapp")
    run.levels = {"": root.level, "caseapp": own.level}
    # What a deployment logs at its default level, and caseapp's own debug lines too.
    if root.getEffectiveLevel() > logging.INFO:
        root.setLevel(logging.INFO)
    own.setLevel(logging.DEBUG)
    root.addHandler(handler)
    run.handler = handler


def _stop_logging(run: _Run) -> None:
    if run.handler is None:
        return
    logging.getLogger().removeHandler(run.handler)
    run.handler.close()
    for name, level in run.levels.items():
        logging.getLogger(name or None).setLevel(level)
    run.handler = None


# -- searching ---------------------------------------------------------------------------------

def _mask(value: str) -> str:
    return f"{value[0]}…({len(value)} characters)"


def _logger_of(line: str) -> str:
    try:
        return str(json.loads(line).get("logger", "?"))
    except (ValueError, AttributeError):
        return "not JSON"


def _values_of(line: str) -> str:
    """What a JSON line says, without its keys: a fuzzer's "message" is no one's address."""
    try:
        record = json.loads(line)
    except ValueError:
        return line
    if not isinstance(record, dict):
        return line
    parts, stack = [], list(record.values())
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
        elif item is not None:
            parts.append(str(item))
    return "\n".join(parts)


def scan(folder: Path, values: dict[str, str]) -> tuple[list[str], int, int]:
    """(one line per hit, files read, lines read); a hit names where, never the line itself."""
    import ahocorasick

    automaton = ahocorasick.Automaton()
    for value, what in values.items():
        automaton.add_word(value, (value, what))
        escaped = json.dumps(value)[1:-1]  # as an ASCII-only JSON writer would put it
        if escaped != value:
            automaton.add_word(escaped, (value, what))
    hits, files, read = [], 0, 0
    if values:
        automaton.make_automaton()
    for path in sorted(folder.glob("*.log")):
        files += 1
        with open(path, encoding="utf-8", errors="replace") as handle:
            for number, line in enumerate(handle, 1):
                read += 1
                if not values:
                    continue
                for _end, (value, what) in automaton.iter(_values_of(line)):
                    hits.append(f"{path}:{number}: a {what} ({_mask(value)}) in a line of "
                                f"logger {_logger_of(line)}")
                    break
    return hits, files, read


# -- the hooks ---------------------------------------------------------------------------------

def pytest_configure(config):
    global _run
    if _run is not None:  # a pytest run inside this one (pytester, in-process) scans nothing
        return
    from sqlalchemy import event
    from sqlalchemy.orm import Session

    _run = _Run(Path(tempfile.mkdtemp(prefix="caseapp-test-logs-")))
    config.stash[_OWNER] = _run
    _start_logging(_run)
    event.listen(Session, "before_flush", _on_flush)


def pytest_runtest_setup(item):
    # Whatever reconfigured logging in an earlier test (a CLI command, a library's own
    # set-up) must not leave the rest of the run unrecorded.
    run = item.config.stash.get(_OWNER, None)
    if run is None or run.handler is None:
        return
    root = logging.getLogger()
    if run.handler not in root.handlers:
        root.addHandler(run.handler)
    if root.getEffectiveLevel() > logging.INFO:
        root.setLevel(logging.INFO)


@pytest.hookimpl(trylast=True)  # after the runner has torn every fixture down
def pytest_sessionfinish(session):
    global _run
    run = session.config.stash.get(_OWNER, None)
    if run is None:
        return
    _stop_logging(run)
    from sqlalchemy import event
    from sqlalchemy.orm import Session

    event.remove(Session, "before_flush", _on_flush)
    hits, files, lines = scan(run.folder, run.values)
    summary = (f"log scan: {lines} lines in {files} files against {len(run.values)} "
               f"personal values")
    if not hits:
        report = [f"{summary}: none found"]
        shutil.rmtree(run.folder, ignore_errors=True)
    else:
        report = [f"{summary}: FOUND in {len(hits)} lines", *hits[:_SHOWN]]
        if len(hits) > _SHOWN:
            report.append(f"… and {len(hits) - _SHOWN} more lines")
        report.append(f"the logs are kept in {run.folder}")
        if session.exitstatus in (pytest.ExitCode.OK, pytest.ExitCode.NO_TESTS_COLLECTED):
            session.exitstatus = pytest.ExitCode.TESTS_FAILED
    session.config.stash[_REPORT] = (report, bool(hits))
    _run = None


def pytest_terminal_summary(terminalreporter):
    report, failed = terminalreporter.config.stash.get(_REPORT, ([], False))
    if failed:
        terminalreporter.section("personal data in logs", sep="=", red=True, bold=True)
        for line in report:
            terminalreporter.write_line(line, red=True)
    elif report and terminalreporter.verbosity >= -1:
        terminalreporter.write_line(report[0])
