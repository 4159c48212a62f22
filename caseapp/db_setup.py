"""Per-connection settings that make SQLite behave like the database the code expects."""

import sqlite3

from sqlalchemy import event
from sqlalchemy.engine import Engine

_installed = False


def install() -> None:
    global _installed
    if _installed:
        return
    event.listen(Engine, "connect", _on_connect)
    event.listen(Engine, "begin", _on_begin)
    _installed = True


def _on_connect(dbapi_connection, _record) -> None:
    if not isinstance(dbapi_connection, sqlite3.Connection):
        return
    # Let SQLAlchemy emit BEGIN itself (pysqlite's own handling breaks SAVEPOINT).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def _on_begin(connection) -> None:
    if connection.dialect.name == "sqlite":
        # IMMEDIATE takes the write lock up front: a deferred transaction that reads and then
        # writes fails at once with SQLITE_BUSY when another process (the worker) wrote in
        # between, while an immediate one waits its turn under busy_timeout.
        connection.exec_driver_sql("BEGIN IMMEDIATE")
