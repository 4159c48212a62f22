"""The run-wide log scan (tests.logscan) fails a run whose logs hold a personal value, and
only then: each case is a pytest run of its own, in a subprocess."""

import re
import shutil
from pathlib import Path

import pytest

from caseapp.models import Client, Household
from caseapp.services.rights.retention import ANONYMISED
from tests import logscan

ROOT = Path(__file__).resolve().parents[2]

PLANTED = '''
import logging
import subprocess
import sys

from tests import logscan


def test_a_record_names_the_person():
    logscan.register("鳥居 耀子", "client name")
    logging.getLogger("caseapp.planted").info("来所: %s", "鳥居 耀子")


def test_a_child_process_prints_a_phone_number():
    logscan.register("080-2468-1357", "client phone")
    with logscan.output("planted") as log:
        subprocess.run([sys.executable, "-c", "print('tel 080-2468-1357')"], stdout=log,
                       check=True)
'''

CLEAN = '''
import logging

from tests import logscan


def test_a_record_with_ids_only():
    logscan.register("鳥居 耀子", "client name")
    logging.getLogger("caseapp.planted").info("来所: client %s", 42)
'''


@pytest.fixture
def run_pytest(pytester, monkeypatch):
    monkeypatch.setenv("PYTHONPATH", str(ROOT))

    def run(source: str):
        pytester.makepyfile(test_planted=source)
        return pytester.runpytest_subprocess("-p", "tests.logscan", "-p", "no:cacheprovider")
    return run


def test_a_name_in_a_record_or_a_child_process_output_fails_the_run(run_pytest):
    result = run_pytest(PLANTED)
    text = result.stdout.str() + result.stderr.str()
    assert result.ret == pytest.ExitCode.TESTS_FAILED, text
    result.stdout.fnmatch_lines(["*2 passed*"])  # every test passed: the scan failed the run
    assert "personal data in logs" in text
    assert re.search(r"pytest\.log:\d+: a client name \(鳥…\(\d characters\)\) in a line of "
                     r"logger caseapp\.planted", text), text
    assert re.search(r"planted-\d+\.log:1: a client phone \(0…\(13 characters\)\)", text), text
    # Where, not what: the values themselves are not repeated.
    assert "鳥居 耀子" not in text and "耀子" not in text and "2468-1357" not in text
    # The files are kept for a look.
    kept = Path(re.search(r"the logs are kept in (\S+)", text).group(1))
    assert {path.name for path in kept.iterdir()} == {"pytest.log", "planted-1.log"}
    shutil.rmtree(kept)


def test_a_run_whose_logs_hold_only_ids_passes(run_pytest):
    result = run_pytest(CLEAN)
    assert result.ret == pytest.ExitCode.OK, result.stdout.str()
    result.stdout.fnmatch_lines(["log scan: * against 3 personal values: none found"])


def test_what_the_orm_writes_for_a_client_or_household_is_looked_for(session):
    session.add(Client(name="宇佐美 晴臣", name_kana="ウサミ ハルオミ", phone="07012345678",
                       address="高知県南国市大埇甲1-2-3", search_key="usami"))
    session.add(Household(name="宇佐美家", address="高知県南国市大埇甲1-2-3"))
    session.add(Client(name=ANONYMISED, search_key="anonymised"))
    session.flush()
    found = logscan.registered()
    assert {"宇佐美 晴臣", "宇佐美", "晴臣", "ウサミ ハルオミ", "07012345678",
            "高知県南国市大埇甲1-2-3", "宇佐美家"} <= found.keys()
    assert found["07012345678"] == "client phone"
    assert ANONYMISED not in found  # what replaces a name after retention is no one's
    session.rollback()


@pytest.mark.parametrize("value", ["0", "00", "000000", "aaaaaa", "abc", "1234-5", "  ", "・・"])
def test_what_a_fuzzer_makes_is_not_worth_looking_for(value):
    assert not logscan.worth_checking(value)


@pytest.mark.parametrize("value", ["山田", "ヤマダ タロウ", "090-1234-5678", "09012345678",
                                   "Maria Santos"])
def test_names_and_numbers_are(value):
    assert logscan.worth_checking(value)


def test_only_what_a_json_line_says_is_searched_not_its_keys(tmp_path):
    (tmp_path / "app.log").write_text(
        '{"time": "t", "logger": "caseapp", "message": "request", "route": "/x"}\n'
        '{"time": "t", "logger": "caseapp", "message": "sent to Mariko Field"}\n'
        "plain text naming Mariko Field\n", encoding="utf-8")
    # A fuzzer's address "message" is a key of every line, and no one's value.
    hits, files, lines = logscan.scan(tmp_path, {"message": "client address",
                                                 "Mariko": "client name"})
    assert (files, lines) == (1, 3)
    assert [hit.split(": ", 1)[0] for hit in hits] == [f"{tmp_path / 'app.log'}:2",
                                                        f"{tmp_path / 'app.log'}:3"]


def test_a_generators_random_text_is_nobodys_data():
    with logscan.generated_data():
        logscan.register("POST Santos", "client name")
    logscan.register("Mariko Hoshino", "client name")
    found = logscan.registered()
    assert "POST" not in found and "Santos" not in found
    assert found["Mariko"] == found["Hoshino"] == "client name"
