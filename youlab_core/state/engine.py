"""Engines for the state store: SQLite (WAL, busy timeout, writes take the lock up front) or PostgreSQL."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.pool import ConnectionPoolEntry

from ..errors import ConfigError, ConfigIssue

SQLITE_BUSY_TIMEOUT_MS = 30_000


@dataclass
class Engines:
    """`write` begins transactions that will write; `read` the rest. On PostgreSQL they are the same engine."""

    write: Engine
    read: Engine
    dialect: str

    def dispose(self) -> None:
        self.write.dispose()
        if self.read is not self.write:
            self.read.dispose()


def _sqlite_engine(url: str, begin: str) -> Engine:
    engine = create_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000, "check_same_thread": False})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: sqlite3.Connection, _record: ConnectionPoolEntry) -> None:
        # We issue BEGIN ourselves (below), so the driver must not open transactions on its own.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA synchronous=NORMAL")  # durable across process crashes in WAL mode
        cursor.execute("PRAGMA cache_size=-16000")  # 16 MB per connection: the hot indexes stay in memory
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        # BEGIN IMMEDIATE takes the write lock at the start, so a read-then-write transaction waits for the
        # busy timeout instead of failing with SQLITE_BUSY when it tries to upgrade its lock.
        connection.exec_driver_sql(begin)

    return engine


def make_engines(url: str) -> Engines:
    try:
        parsed = make_url(url)
    except Exception as exc:  # sqlalchemy raises ArgumentError with the raw URL (which may hold a password)
        raise ConfigError([ConfigIssue("settings", "state_url", f"not a database URL ({type(exc).__name__})")]) from None
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        write = _sqlite_engine(url, "BEGIN IMMEDIATE")
        read = _sqlite_engine(url, "BEGIN")
        return Engines(write, read, "sqlite")
    if backend == "postgresql":
        if parsed.drivername == "postgresql":
            parsed = parsed.set(drivername="postgresql+psycopg")  # psycopg 3, not psycopg2
        engine = create_engine(parsed, pool_pre_ping=True, pool_size=5, max_overflow=10)
        return Engines(engine, engine, "postgresql")
    raise ConfigError(
        [ConfigIssue("settings", "state_url", f"unsupported database {backend!r}: use sqlite:/// or postgresql+psycopg://")]
    )
