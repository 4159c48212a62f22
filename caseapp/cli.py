"""The `caseapp` command (a Flask CLI group): set-up, users, and the processes of a deployment."""

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import FlaskGroup, with_appcontext

from caseapp.extensions import db


def _create_app():
    from caseapp import create_app

    return create_app()


@click.group(cls=FlaskGroup, create_app=_create_app, add_default_commands=False,
             add_version_option=False, load_dotenv=False)
def main():
    """caseapp: 断らない・迷子にさせない one-stop consultation counter."""


def register(app: Flask) -> None:
    for command in (up, api, worker, beat, seed, users, partners, rules_group, audit_group,
                    retention_group, backup, restore, areas_group, members_group):
        app.cli.add_command(command)


def _config():
    return current_app.config["CASEAPP"]


def _upgrade() -> None:
    from flask_migrate import upgrade

    upgrade()


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@with_appcontext
def up(host: str, port: int):
    """Migrate, seed if empty, then run API, worker and beat together (Ctrl-C stops all)."""
    from caseapp.services.core import auth
    from caseapp.services.network import seed as seed_service

    config = _config()
    _upgrade()
    first_token = None
    if seed_service.is_empty(db.session):
        result = seed_service.seed_nankoku(db.session)
        click.echo(f"Seeded the Nankoku network: {len(result['partners_added'])} partners, "
                   f"rule set v{result['ruleset_version']}.")
        _user, first_token = auth.create_user(db.session, "admin", "admin")
    _seed_areas("nankoku")
    db.session.remove()
    db.engine.dispose()

    base = [sys.executable, "-m", "caseapp.cli"]
    commands = {
        "api": [*base, "api", "--host", host, "--port", str(port)],
        "worker": [*base, "worker"],
        "beat": [*base, "beat"],
    }
    # Children read their settings from the environment (config.py); links they send to
    # partners point at the address served here unless CASEAPP_BASE_URL says otherwise.
    env = {**os.environ, "CASEAPP_INSTANCE_PATH": str(config.instance_path),
           "CASEAPP_BASE_URL": config.served_at(host, port),
           "PROMETHEUS_MULTIPROC_DIR": str(_fresh_metrics_dir(config))}
    children = {name: subprocess.Popen(cmd, env=env, start_new_session=True)
                for name, cmd in commands.items()}
    click.echo(f"caseapp is up: http://{host}:{port}/api/v1/health  "
               f"(docs: http://{host}:{port}/api/v1/docs)")
    click.echo(f"console: http://{host}:{port}/  (a password first: caseapp users password NAME)")
    click.echo(f"database: {_redact(config.database_url)}  broker: {_redact(config.broker_url)}")
    click.echo(_mail_line(config))
    if first_token:
        click.echo("An admin user was created. Its API token (shown once):")
        click.echo(first_token)
    _supervise(children)


def _mail_line(config) -> str:
    if config.smtp_host:
        return f"mail: SMTP {config.smtp_host}:{config.smtp_port}"
    return (f"mail: SMTP_HOST が未設定のため、メールは {config.mail_folder} に .eml ファイルとして"
            "保存します（written as files; set SMTP_HOST to send）")


def _fresh_metrics_dir(config) -> Path:
    """The folder where API and worker processes pool their counters, emptied at start:
    files of processes from an earlier run would otherwise be added to this run's counts."""
    import shutil

    folder = Path(config.metrics_dir or Path(config.instance_path) / "metrics")
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _redact(url: str) -> str:
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        return f"{scheme}://***@{rest.split('@', 1)[1]}"
    return url


def _supervise(children: dict[str, subprocess.Popen]) -> None:
    """Run until Ctrl-C, SIGTERM or a child dies; then stop every child, leaving no orphans."""
    stopping = False

    def stop(_signum, _frame):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    exit_code = 0
    while not stopping:
        for name, child in children.items():
            if child.poll() is not None:
                click.echo(f"{name} exited with {child.returncode}; stopping the rest", err=True)
                stopping, exit_code = True, 1
                break
        time.sleep(0.2)
    for child in children.values():
        if child.poll() is None:
            child.terminate()  # each main process stops its own pool and children
    deadline = time.monotonic() + 15
    for child in children.values():
        with contextlib.suppress(subprocess.TimeoutExpired):
            child.wait(timeout=max(0.1, deadline - time.monotonic()))
        # Whatever is left in the child's session (a stuck pool process) is not left behind.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(child.pid, signal.SIGKILL)
        child.wait()
    click.echo("caseapp stopped.")
    sys.exit(exit_code)


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--workers", default=2, show_default=True, type=int)
@click.option("--threads", default=4, show_default=True, type=int)
def api(host: str, port: int, workers: int, threads: int):
    """The API under gunicorn (a production WSGI server)."""
    from gunicorn.app.base import BaseApplication

    from caseapp.config import from_env
    from caseapp.services.ops import logs

    config = from_env()
    if workers > 1 and config.metrics_dir is None:
        click.echo("PROMETHEUS_MULTIPROC_DIR is not set: each of the workers counts its own "
                   "requests, and /metrics shows one worker's (see docs/operations.md)",
                   err=True)
    config = config.with_(base_url=config.served_at(host, port))
    control = config.control_socket(port)

    class Server(BaseApplication):
        def load_config(self):
            self.cfg.set("bind", f"{host}:{port}")
            self.cfg.set("workers", workers)
            self.cfg.set("threads", threads)
            # No access log: its lines hold full URLs, and a query string can hold a name.
            # The app logs one JSON line per request instead (caseapp.api.observe).
            self.cfg.set("logconfig_dict", logs.gunicorn_config(config.log_level))
            self.cfg.set("graceful_timeout", 10)
            if "control_socket" in self.cfg.settings:
                # gunicorn's default is one path per user (~/.gunicorn/gunicorn.ctl): a second
                # instance would take it over, and stopping either would delete it.
                control.parent.mkdir(parents=True, exist_ok=True)
                self.cfg.set("control_socket", str(control))

        def load(self):
            from caseapp import create_app

            return create_app(config)

    Server().run()


@click.command(context_settings={"ignore_unknown_options": True})
@click.argument("celery_args", nargs=-1, type=click.UNPROCESSED)
@with_appcontext
def worker(celery_args):
    """A Celery worker (extra arguments go to celery)."""
    celery = current_app.extensions["celery"]
    config = _config()
    args = ["worker", f"--loglevel={config.log_level}"]
    if config.embedded_broker:
        args.append("--concurrency=2")
    celery.worker_main([*args, *celery_args])


@click.command(context_settings={"ignore_unknown_options": True})
@click.argument("celery_args", nargs=-1, type=click.UNPROCESSED)
@with_appcontext
def beat(celery_args):
    """Celery beat: triggers the sweep every CASEAPP_SWEEP_SECONDS."""
    celery = current_app.extensions["celery"]
    schedule = Path(_config().instance_path) / "celerybeat-schedule"
    schedule.parent.mkdir(parents=True, exist_ok=True)
    celery.start(["beat", f"--loglevel={_config().log_level}", f"--schedule={schedule}",
                  *celery_args])


@click.group()
def seed():
    """Load shipped data."""


@seed.command("nankoku")
@with_appcontext
def seed_nankoku():
    """Load 南国市's areas, partner network and rule set (idempotent)."""
    _seed_network("nankoku")


@seed.command("hidaka")
@with_appcontext
def seed_hidaka():
    """Load 日高村: 22 民生委員 districts as 小地域, its network and rule set (idempotent)."""
    _seed_network("hidaka")


@seed.command("nakatosa")
@with_appcontext
def seed_nakatosa():
    """Load 中土佐町: three あったかふれあいセンター 地区, their 小地域, network and rule set."""
    _seed_network("nakatosa")


def _seed_network(name: str) -> None:
    from caseapp.services.network import seed as seed_service

    _seed_areas(name)
    result = seed_service.seed_network(db.session, name)
    click.echo(f"partners added: {', '.join(result['partners_added']) or 'none'}")
    version = result["ruleset_version"]
    click.echo(f"rule set: {'v' + str(version) + ' adopted' if version else 'unchanged'}")


def _seed_areas(name: str) -> None:
    from caseapp.services.community import areas

    added = areas.seed(db.session, name).added
    click.echo(f"areas added: {len(added)}")


@click.group()
def users():
    """Staff users."""


@users.command("create")
@click.argument("name")
@click.option("--role", required=True,
              type=click.Choice(["counter", "supervisor", "admin", "prefecture"]))
@click.option("--email", default=None)
@click.option("--municipality", default=None,
              help="national code or seed name (nankoku, nakatosa, hidaka); default: the only one")
@click.option("--area", "area_code", default=None,
              help="code of the 地区 or 小地域 whose center the user works at (its cases first)")
@with_appcontext
def users_create(name: str, role: str, email: str | None, municipality: str | None,
                 area_code: str | None):
    """Create a staff user of a municipality; prints its API token once, on the last line."""
    from caseapp.services.community import areas
    from caseapp.services.core import auth
    from caseapp.services.core.errors import DomainError

    try:
        town = (areas.get_by_code(db.session, municipality or "390003") if role == "prefecture"
                else areas.municipality(db.session, municipality))
        user, token = auth.create_user(db.session, name, role, email, town.id, area_code)
    except DomainError as exc:
        raise click.ClickException(exc.detail) from exc
    click.echo(f"created {user.role} user {user.name!r} (id {user.id}); token:")
    click.echo(token)


def _at_terminal() -> bool:
    return sys.stdin.isatty()


def _read_password() -> str:
    """Twice, hidden, at a terminal; otherwise the first line of stdin (scripts, pipes)."""
    if _at_terminal():
        return click.prompt("パスワード / password", hide_input=True,
                            confirmation_prompt="もう一度 / repeat")
    line = sys.stdin.readline()
    if not line:
        raise click.ClickException("no password on stdin")
    return line.rstrip("\r\n")


@users.command("password")
@click.argument("name")
@with_appcontext
def users_password(name: str):
    """Set a user's console password (stdin, or prompted twice at a terminal)."""
    from caseapp.services.core import signin
    from caseapp.services.core.errors import DomainError

    password = _read_password()
    try:
        user = signin.set_password(db.session, name, password)
    except DomainError as exc:
        raise click.ClickException(exc.detail) from exc
    click.echo(f"password set for {user.name!r}; their open console sessions were ended")


@users.command("revoke")
@click.argument("name")
@with_appcontext
def users_revoke(name: str):
    """Stop a user at once, as the admin page does: tokens, console sessions and sign-in."""
    from caseapp.services.core import users as user_service
    from caseapp.services.core.actors import Actor
    from caseapp.services.core.errors import DomainError

    actor = Actor(user_id=None, name="cli", role="admin")
    try:
        user = user_service.by_name(db.session, name)
        count = user_service.revoke(db.session, actor, user.id)
    except DomainError as exc:
        raise click.ClickException(exc.detail) from exc
    click.echo(f"{name} の利用を止めました。API トークン {count} 件を取り消し、コンソールの"
               f"セッションを終え、サインインを止めました（revoked {count} token(s) of {name}; "
               f"sessions ended, sign-in blocked until reinstated）")


def _revoke(user_name: str, unknown: str) -> int:
    from caseapp.services.core import auth
    from caseapp.services.core.errors import DomainError

    try:
        return auth.revoke_user(db.session, user_name)
    except DomainError as exc:
        raise click.ClickException(unknown) from exc


@click.group()
def partners():
    """Partner accounts."""


@partners.command("revoke")
@click.argument("code")
@with_appcontext
def partners_revoke(code: str):
    """Revoke all of a partner's tokens, effective at once."""
    count = _revoke(f"partner:{code}", f"no tokens were ever issued for partner {code!r}")
    click.echo(f"revoked {count} token(s) of partner {code}")


@partners.command("user")
@click.argument("code")
@click.argument("name")
@with_appcontext
def partners_user(code: str, name: str):
    """Create a console user for a partner; password from stdin (or prompted twice)."""
    from caseapp.services.core import signin
    from caseapp.services.core.errors import DomainError

    password = _read_password()
    try:
        user = signin.create_partner_user(db.session, code, name, password)
    except DomainError as exc:
        raise click.ClickException(exc.detail) from exc
    click.echo(f"created partner user {user.name!r} (id {user.id}) for partner {code}")


@partners.command("token")
@click.argument("code")
@with_appcontext
def partners_token(code: str):
    """Create an API token for a partner; prints it alone on the last line."""
    from caseapp.services.core import auth
    from caseapp.services.core.errors import DomainError

    try:
        token = auth.partner_token(db.session, code)
    except DomainError as exc:
        raise click.ClickException(exc.detail) from exc
    click.echo(f"token for partner {code}:")
    click.echo(token)


@click.group("rules")
def rules_group():
    """Routing rule files."""


def _read_rule_file(path: str):
    from caseapp import rules

    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise click.ClickException(f"{path}: {exc}") from exc
    try:
        return rules.load_ruleset_text(text)
    except rules.RuleSetInvalid as exc:
        _print_problems(path, exc.problems)
        sys.exit(1)


def _print_problems(path: str, problems) -> None:
    for problem in problems:
        click.echo(f"{path}: {problem}", err=True)


def _known_partners() -> set[str]:
    """The directory's codes; the shipped network's when there is no database yet."""
    from sqlalchemy.exc import SQLAlchemyError

    from caseapp import rules
    from caseapp.services.intake import routing

    try:
        codes = routing.partner_codes(db.session)
    except SQLAlchemyError:
        codes = set()
    return codes or set(rules.NANKOKU_PARTNERS)


def _known_areas() -> dict[str, str] | None:
    """Every 地区 and 小地域 code on the platform; None (any code) when there are none yet."""
    from sqlalchemy.exc import SQLAlchemyError

    from caseapp.services.intake import routing

    try:
        return routing.area_levels(db.session) or None
    except SQLAlchemyError:
        return None


@rules_group.command("check")
@click.argument("file", type=click.Path(dir_okay=False))
@with_appcontext
def rules_check(file: str):
    """Validate a rule file; one message per problem, naming the rule and field."""
    from caseapp import rules

    data = _read_rule_file(file)
    problems = rules.validate_ruleset(data, _known_partners(), _known_areas())
    if problems:
        _print_problems(file, problems)
        sys.exit(1)
    click.echo(f"{file}: ok ({len(data.get('rules', []))} rules)")


@rules_group.command("replay")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--since", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
              help="only consultations received on or after this date")
@click.option("--examples", default=5, show_default=True)
@with_appcontext
def rules_replay(file: str, since, examples: int):
    """Show how routing of stored consultations would change under a candidate rule set."""
    from caseapp import rules
    from caseapp.services.intake import routing

    data = _read_rule_file(file)
    try:
        candidate = rules.compile_ruleset(data, _known_partners(), _known_areas())
    except rules.RuleSetInvalid as exc:
        _print_problems(file, exc.problems)
        sys.exit(1)
    version, current = routing.active(db.session)
    subjects = routing.stored_subjects(db.session, since.date() if since else None)
    report = rules.replay(current, candidate, subjects, examples=examples)
    report.old_version, report.new_version = f"v{version}", file
    click.echo(report.to_text())


@click.group("audit")
def audit_group():
    """The audit log."""


@audit_group.command("verify")
@with_appcontext
def audit_verify():
    """Walk the hash chain; exit 1 naming the first entry that does not match."""
    from caseapp.services.core import audit

    checked, broken = audit.verify(db.session)
    if broken is not None:
        click.echo(f"audit chain broken at entry {broken} (after {checked} good entries)",
                   err=True)
        sys.exit(1)
    click.echo(f"audit chain intact: {checked} entries")


@click.group("retention")
def retention_group():
    """Anonymising persons past the retention period."""


@retention_group.command("run")
@click.option("--dry-run", is_flag=True, help="only list who would be anonymised")
@click.option("--limit", default=200, show_default=True, type=click.IntRange(min=1))
@with_appcontext
def retention_run(dry_run: bool, limit: int):
    """Anonymise persons past retention (CASEAPP_RETENTION_YEARS); ids only are printed."""
    from caseapp.rules.calendar import TOKYO
    from caseapp.services.rights import retention

    years = _config().retention_years
    result = retention.run(db.session, years, dry_run=dry_run, limit=limit)
    day = result.cutoff.astimezone(TOKYO).date().isoformat()
    if dry_run:
        click.echo(f"would anonymise {len(result.candidates)} person(s) with no activity since "
                   f"{day} ({years} years):")
        for candidate in result.candidates:
            last = candidate.last_activity.astimezone(TOKYO).date().isoformat()
            click.echo(f"  client {candidate.client_id}  last activity {last}")
        return
    click.echo(f"anonymised {len(result.anonymised)} person(s) with no activity since {day}"
               + (": " + ", ".join(map(str, result.anonymised)) if result.anonymised else ""))


@click.group("areas")
def areas_group():
    """Areas: 県 → ブロック → 市町村 → 地区 → 小地域."""


@areas_group.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@with_appcontext
def areas_import(file: str):
    """Load a municipality's 地区 and 小地域 (and address keys) from CSV; all rows or none."""
    from caseapp.services.community import areas
    from caseapp.services.core.actors import Actor
    from caseapp.services.core.errors import DomainError

    try:
        text = Path(file).read_text(encoding="utf-8-sig")
        result = areas.import_csv(db.session, Actor(user_id=None, name="cli", role="admin"), text)
    except (OSError, UnicodeDecodeError) as exc:
        raise click.ClickException(f"{file}: {exc}") from exc
    except DomainError as exc:
        for where, messages in (exc.errors or {}).items():
            for message in messages:
                click.echo(f"{file}: {where}: {message}", err=True)
        raise click.ClickException(exc.detail) from exc
    click.echo(f"areas added: {len(result.added)}, updated: {len(result.updated)}")


@click.group("members")
def members_group():
    """Community members (民生委員, 福祉委員, volunteers, 自治会長 …)."""


@members_group.command("create")
@click.argument("name")
@click.option("--role", required=True,
              type=click.Choice(["minsei", "fukushi", "volunteer", "jichikai", "shobodan",
                                 "other"]))
@click.option("--area", "area_code", required=True, help="the 小地域's code")
@click.option("--term-from", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
              help="first day of the term (default today)")
@click.option("--term-to", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
              help="last day of the term; access ends after it")
@with_appcontext
def members_create(name: str, role: str, area_code: str, term_from, term_to):
    """Create a community member; prints its API token once, alone on the last line."""
    from caseapp.services.community import members
    from caseapp.services.core.errors import DomainError

    try:
        made = members.create(db.session, name, role, area_code,
                              term_from=term_from.date() if term_from else None,
                              term_to=term_to.date() if term_to else None)
    except DomainError as exc:
        problems = "; ".join(m for ms in (exc.errors or {}).values() for m in ms)
        raise click.ClickException(f"{exc.detail}: {problems}" if problems else exc.detail
                                   ) from exc
    click.echo(f"created member {made.member.name!r} (id {made.member.id}, "
               f"{made.member.role}, area {area_code}); console sign-in name "
               f"{made.member.user.name!r}; token:")
    click.echo(made.token)


@click.command()
@click.argument("file", type=click.Path(dir_okay=False))
@with_appcontext
def backup(file: str):
    """A consistent backup of the database while it runs (pg_dump / SQLite backup API)."""
    from caseapp.services.ops import backup as backups

    try:
        done = backups.backup(_config(), Path(file))
    except backups.BackupError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"backup written: {done.path} ({done.size} bytes, {done.kind})")


@click.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@with_appcontext
def restore(file: str):
    """Restore a backup into the configured database, which must be empty."""
    from caseapp.services.ops import backup as backups

    db.session.remove()
    db.engine.dispose()  # the restore needs the database to itself
    try:
        done = backups.restore(_config(), Path(file))
    except backups.BackupError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"restored {done.path} into {_redact(_config().database_url)}; "
               "run `caseapp audit verify` and `caseapp db upgrade` next")


if __name__ == "__main__":
    main()
