"""The README and docs/ stay true: their examples run in order, and their links resolve in a clone.

Each document's shell examples run top to bottom against a freshly seeded app, as a reader with
`caseapp up` running would type them: the README's first, since every page builds on its $TOKEN
and $B. Between commands the worker catches up, as it does a second later in a real terminal.
"""

import ast
import json
import re
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import time_machine
from sqlalchemy import select

from caseapp.models import Delivery
from tests.doc_shell import Answer, Block, Shell, ShellError, shell_blocks

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
DOCS = sorted((ROOT / "docs").glob("*.md"))
PAGES = [README, *DOCS]
RUNNABLE = [page for page in DOCS if shell_blocks(page)]

# The examples tell one story: intake and the night session on Friday 27 November 2026, read
# the next Monday. Every date they write is before that (but a next action, which lies ahead),
# so a reader running them later sees what the test sees; the pinned clock keeps due dates
# and the like the same on every run.
STORY_TIME = datetime(2026, 11, 30, 10, 0, tzinfo=ZoneInfo("Asia/Tokyo"))


def _shell(app, session, tmp_path) -> Shell:
    client, runner = app.test_client(), app.test_cli_runner()

    def send(request):
        # Each request gets a session of its own, as it does in a served app: the test
        # client would otherwise share the fixture's, and with it objects read before.
        session.remove()
        response = client.open(request.url, method=request.method, headers=request.headers,
                               data=request.body)
        return Answer(response.status_code, response.get_data(as_text=True))

    def cli(args):
        result = runner.invoke(args=args)
        return result.exit_code, result.output

    def worker():
        """What a worker does a moment later: each due delivery, through the task itself."""
        deliver = app.extensions["celery"].tasks["caseapp.deliver"]
        ids = list(session.scalars(select(Delivery.id).where(
            Delivery.state == "pending", Delivery.next_attempt_at <= datetime.now(UTC))))
        session.remove()
        for delivery_id in ids:
            deliver(delivery_id)

    return Shell(send, cli, tmp_path, after=worker)


def _run(shell: Shell, blocks: list[Block]) -> None:
    for block in blocks:
        shell.run(block)


def test_the_readme_examples_run_in_order(app, seeded, tmp_path):
    shell = _shell(app, seeded, tmp_path)
    with time_machine.travel(STORY_TIME, tick=True):
        _run(shell, shell_blocks(README))
    # What the README says of its answers: routed with reasons, delivered a moment later.
    intake = json.loads(shell.requests[0][1].text)
    assert {d["partner"] for d in intake["routing"]["decisions"]} >= {
        "houkatsu", "houterasu", "shihoshoshi"}
    assert all(d["reason"] for d in intake["routing"]["decisions"])
    (read,) = [answer for request, answer in shell.requests
               if request.method == "GET"
               and request.url == f"/api/v1/consultations/{shell.vars['CONSULTATION']}"]
    assert {r["status"] for r in json.loads(read.text)["referrals"]} == {"sent"}


@pytest.mark.parametrize("page", RUNNABLE, ids=[p.name for p in RUNNABLE])
def test_each_page_of_docs_runs_after_the_readme(app, seeded, tmp_path, page):
    shell = _shell(app, seeded, tmp_path)
    with time_machine.travel(STORY_TIME, tick=True):
        _run(shell, shell_blocks(README))
        before = len(shell.requests)
        _run(shell, shell_blocks(page))
    assert len(shell.requests) > before


# -- links -------------------------------------------------------------------------------------

INLINE = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
REFERENCE = re.compile(r"^\s*\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)", re.M)
HREF = re.compile(r"""\b(?:href|src)=["']([^"']+)["']""")
CODE = re.compile(r"```.*?```|`[^`\n]*`", re.S)


def _targets(page: Path) -> list[str]:
    text = CODE.sub("", page.read_text(encoding="utf-8"))
    return [*INLINE.findall(text), *REFERENCE.findall(text), *HREF.findall(text)]


@pytest.mark.parametrize("page", PAGES, ids=[p.name for p in PAGES])
def test_every_relative_link_resolves_in_a_clone(page):
    broken = []
    for target in _targets(page):
        if re.match(r"[a-z][a-z0-9+.-]*:", target) or target.startswith("#"):
            continue  # a web address, or a heading of the same page
        path = (page.parent / target.split("#", 1)[0]).resolve()
        if not path.is_relative_to(ROOT) or not path.exists():
            broken.append(target)
    assert not broken, f"{page.name} links to what a clone does not have: {broken}"


@pytest.mark.parametrize("page", PAGES, ids=[p.name for p in PAGES])
def test_no_page_points_outside_the_repository(page):
    text = page.read_text(encoding="utf-8")
    assert "../shared" not in text and "shared/DESIGN" not in text and "shared/API" not in text


def test_the_readme_fits_a_screenful_and_leads_to_every_page():
    text = README.read_text(encoding="utf-8")
    assert len(text.splitlines()) <= 160
    linked = {(README.parent / t.split("#", 1)[0]).resolve() for t in _targets(README)}
    assert not [p.name for p in DOCS if p.resolve() not in linked]


def _environment_read_by_config() -> set[str]:
    """The variables config.py reads: string arguments of env.get(...) and of calls given env."""
    names = set()
    for node in ast.walk(ast.parse((ROOT / "caseapp" / "config.py").read_text())):
        if not isinstance(node, ast.Call):
            continue
        reads_env = any(isinstance(a, ast.Name) and a.id in {"env", "environ"} for a in node.args)
        if isinstance(node.func, ast.Attribute) and isinstance(node.func.value, ast.Name):
            reads_env |= node.func.value.id in {"env", "environ"} and node.func.attr == "get"
        if reads_env:
            names |= {a.value for a in node.args if isinstance(a, ast.Constant)
                      and isinstance(a.value, str) and re.fullmatch(r"[A-Z][A-Z0-9_]+", a.value)}
    return names


def test_every_environment_variable_is_documented():
    read = _environment_read_by_config()
    assert "DATABASE_URL" in read and "CASEAPP_WEBHOOK_TIMEOUT" in read
    documented = set(re.findall(r"`([A-Z][A-Z0-9_]+)`", (ROOT / "docs" / "configuration.md")
                                .read_text(encoding="utf-8")))
    assert not read - documented, f"not in docs/configuration.md: {sorted(read - documented)}"


def test_the_command_table_is_the_cli(tmp_path):
    """Each command docs/cli.md names exists, and each of caseapp's own commands is in it."""
    import click

    from caseapp import create_app
    from tests.conftest import make_config

    cli = create_app(make_config(f"sqlite:///{tmp_path / 'cli.sqlite3'}", tmp_path)).cli
    ctx = click.Context(cli)
    text = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    table = text[text.index("| command | does |"):]
    table = table.split("\n\n", 1)[0]
    named = set()
    for cell in re.findall(r"^\| (`.+?) \| ", table, re.M):
        for usage in re.findall(r"`caseapp ([a-z]+(?: [a-z]+)?)", cell):
            words = usage.split()
            command = cli.get_command(ctx, words[0])
            assert command is not None, f"docs/cli.md names caseapp {words[0]}"
            if isinstance(command, click.Group) and len(words) > 1:
                assert command.get_command(ctx, words[1]) is not None, f"caseapp {usage}"
            named.add(words[0] if not isinstance(command, click.Group) else usage)
    # Flask's, Flask-Migrate's and flask-smorest's groups are theirs to document.
    libraries_own = {"db", "routes", "run", "shell", "openapi"}
    for name in set(cli.list_commands(ctx)) - libraries_own:
        command = cli.get_command(ctx, name)
        if isinstance(command, click.Group):
            missing = {f"{name} {sub}" for sub in command.list_commands(ctx)} - named
            assert not missing, f"docs/cli.md lacks {sorted(missing)}"
        else:
            assert name in named, f"docs/cli.md lacks caseapp {name}"


def test_the_runner_refuses_what_it_cannot_run(tmp_path):
    shell = Shell(send=None, cli=None, cwd=tmp_path)
    page = tmp_path / "page.md"
    for text in ("rm -rf instance", "curl -s $UNSET/x", 'H="a b"; curl -H $H http://x/y'):
        page.write_text(f"```sh\n{text}\n```\n")
        with pytest.raises(ShellError):
            _run(shell, shell_blocks(page))
