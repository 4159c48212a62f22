"""Consistent backups while the service runs, and restores into an empty database.

PostgreSQL: ``pg_dump --format=custom`` reads one snapshot (MVCC), so writers carry on and the
dump is consistent; ``pg_restore`` loads it in one transaction. The client tools must be at
least the server's major version (``CASEAPP_PG_BIN`` names their folder when the PATH has older
ones). SQLite (the embedded default): the online backup API copies pages from a read snapshot;
in WAL mode the API and the worker keep writing meanwhile.

A backup file holds every person's data: it is written with mode 0600, completed under a
temporary name and renamed, so a half-written file never looks like a backup.
"""

from __future__ import annotations

import os
import re
import shutil
import sqlite3
import subprocess
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import make_url

from caseapp.config import Config

PG_MAGIC = b"PGDMP"
SQLITE_MAGIC = b"SQLite format 3\x00"


class BackupError(Exception):
    """Why a backup or restore could not be done, in words for the operator."""


@dataclass(frozen=True)
class Done:
    path: Path
    size: int
    kind: str


def backup(config: Config, path: Path) -> Done:
    path = path.resolve()
    if path.exists() and path.is_dir():
        raise BackupError(f"{path} is a directory")
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial")
    partial.unlink(missing_ok=True)
    try:
        if config.is_sqlite:
            kind = "sqlite"
            _sqlite_backup(_sqlite_file(config), partial)
        else:
            kind = "pg_dump custom"
            _pg_dump(config, partial)
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)
    return Done(path, path.stat().st_size, kind)


def restore(config: Config, path: Path) -> Done:
    path = path.resolve()
    with path.open("rb") as fh:
        head = fh.read(16)
    if config.is_sqlite:
        if not head.startswith(SQLITE_MAGIC):
            raise BackupError(f"{path} is not an SQLite backup; the configured database is SQLite")
        _sqlite_restore(path, _sqlite_file(config))
        kind = "sqlite"
    else:
        if not head.startswith(PG_MAGIC):
            raise BackupError(f"{path} is not a pg_dump custom-format file; the configured "
                              "database is PostgreSQL")
        _pg_restore(config, path)
        kind = "pg_dump custom"
    return Done(path, path.stat().st_size, kind)


# --- SQLite ------------------------------------------------------------------------------

def _sqlite_file(config: Config) -> Path:
    database = make_url(config.database_url).database
    if not database or database == ":memory:":
        raise BackupError("an in-memory SQLite database cannot be backed up")
    return Path(database)


def _private(path: Path) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.close(fd)


def _sqlite_backup(source: Path, target: Path) -> None:
    if not source.exists():
        raise BackupError(f"no database at {source}")
    _private(target)
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True, timeout=30)
    dst = sqlite3.connect(target)
    try:
        # All pages in one step: one read snapshot, so the copy is consistent even while the
        # API and worker write (WAL readers do not block writers).
        src.backup(dst, pages=-1)
        dst.execute("PRAGMA journal_mode=DELETE")  # one self-contained file, no -wal beside it
        ok = dst.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        dst.close()
        src.close()
    if ok != "ok":
        raise BackupError(f"the backup failed its integrity check: {ok}")


def _sqlite_restore(backup_file: Path, target: Path) -> None:
    if target.exists() and _sqlite_tables(target):
        raise BackupError(f"{target} is not empty: restore only into an empty database "
                          "(move the old file away first)")
    target.parent.mkdir(parents=True, exist_ok=True)
    for suffix in ("-wal", "-shm"):
        Path(f"{target}{suffix}").unlink(missing_ok=True)
    src = sqlite3.connect(f"file:{backup_file}?mode=ro", uri=True)
    dst = sqlite3.connect(target)
    try:
        src.backup(dst, pages=-1)
        dst.execute("PRAGMA journal_mode=WAL")
    finally:
        dst.close()
        src.close()
    os.chmod(target, 0o600)


def _sqlite_tables(path: Path) -> list[str]:
    conn = sqlite3.connect(path)
    try:
        return [r[0] for r in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")]
    finally:
        conn.close()


# --- PostgreSQL --------------------------------------------------------------------------

def _pg_env(config: Config) -> tuple[str, dict]:
    """A libpq URL without the password, and the environment carrying it (not the argv)."""
    url = make_url(config.database_url)
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    plain = url.set(drivername="postgresql", password=None)
    return plain.render_as_string(hide_password=False), env


def _tool(config: Config, name: str) -> str:
    if config.pg_bin_dir is not None:
        candidate = Path(config.pg_bin_dir) / name
        if not candidate.exists():
            raise BackupError(f"{candidate} not found (CASEAPP_PG_BIN)")
        return str(candidate)
    found = shutil.which(name)
    if found is None:
        raise BackupError(f"{name} not found: install the PostgreSQL client tools of the "
                          "server's major version, or set CASEAPP_PG_BIN to their folder")
    return found


def _major(text: str) -> int | None:
    match = re.search(r"(\d+)(?:\.\d+)?", text)
    return int(match.group(1)) if match else None


def _check_versions(config: Config, tool: str, url: str, env: dict) -> None:
    mine = _major(_run([tool, "--version"], env).stdout)
    psql = str(Path(tool).with_name("psql"))
    if not Path(psql).exists():
        psql = shutil.which("psql") or psql
    try:
        server = _run([psql, "--no-psqlrc", "-At", "-d", url, "-c", "SHOW server_version_num"],
                      env).stdout.strip()
    except BackupError:
        return  # no psql: pg_dump refuses a newer server itself, with its own message
    if mine is not None and server.isdigit() and mine < int(server) // 10000:
        raise BackupError(f"{Path(tool).name} is version {mine} but the server is "
                          f"{int(server) // 10000}: use client tools of at least the server's "
                          "version (CASEAPP_PG_BIN)")


def _run(argv: list[str], env: dict) -> subprocess.CompletedProcess:
    try:
        done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=6 * 3600)
    except OSError as exc:
        raise BackupError(f"{argv[0]}: {exc}") from exc
    if done.returncode != 0:
        raise BackupError(f"{Path(argv[0]).name} failed ({done.returncode}): "
                          f"{done.stderr.strip()[-2000:]}")
    return done


def _pg_dump(config: Config, target: Path) -> None:
    url, env = _pg_env(config)
    tool = _tool(config, "pg_dump")
    _check_versions(config, tool, url, env)
    _private(target)
    # Row-level security on: a role that cannot bypass it (the app's, a non-superuser owner)
    # otherwise makes pg_dump refuse; unscoped, the policies let every row through.
    _run([tool, "--format=custom", "--no-owner", "--no-privileges", "--enable-row-security",
          "--file", str(target), "--dbname", url], env)
    # Read the table of contents back: a dump that cannot be listed cannot be restored.
    _run([_tool(config, "pg_restore"), "--list", str(target)], env)


def _pg_restore(config: Config, backup_file: Path) -> None:
    url, env = _pg_env(config)
    tool = _tool(config, "pg_restore")
    psql = str(Path(tool).with_name("psql")) if config.pg_bin_dir else (shutil.which("psql")
                                                                         or "psql")
    tables = _run([psql, "--no-psqlrc", "-At", "-d", url, "-c",
                   "SELECT count(*) FROM information_schema.tables "
                   "WHERE table_schema = 'public'"], env).stdout.strip()
    if tables not in ("", "0"):
        raise BackupError(f"the database already has {tables} tables: restore only into an "
                          "empty database (createdb a new one and point DATABASE_URL at it)")
    _run([tool, "--no-owner", "--no-privileges", "--single-transaction", "--exit-on-error",
          "--dbname", url, str(backup_file)], env)
