"""Versioned schema migrations. `youlab_schema_version` holds one row per applied version.

Each step only adds (tables, columns, indexes), so an upgrade keeps every row. Several processes may start at
once: the steps run under a lock (SQLite: the write lock of BEGIN IMMEDIATE; PostgreSQL: an advisory lock).
"""

from __future__ import annotations

import time
from collections.abc import Callable

from sqlalchemy import (BigInteger, Column, Connection, Float, Index, Integer, MetaData, String, Table, Text, func,
                        inspect, select, text)

from . import tables
from ..errors import YoulabError
from .engine import Engines

_ADVISORY_LOCK_KEY = 0x594F554C4142  # "YOULAB"


def _v1(conn: Connection) -> None:
    for table in tables.V1_TABLES:
        table.create(conn, checkfirst=True)


# The outbox as version 2 created it (version 3 adds `queue`): frozen here so a database built step by step has
# the same shape as one upgraded from version 2.
_OUTBOX_V2 = Table(
    "youlab_outbox",
    MetaData(),
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("payload", Text, nullable=False),
    Column("enqueued_at", Float, nullable=False),
    Column("available_at", Float, nullable=False),
    Column("status", String(8), nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    Column("owner", String(255)),
    Column("lease_expires_at", Float),
    Column("last_error", Text),
    Index("ix_youlab_outbox_ready", "status", "available_at"),
)


def _v2(conn: Connection) -> None:
    # The thread registry and the Honcho outbox.
    for table in (tables.threads, _OUTBOX_V2, tables.counters):
        table.create(conn, checkfirst=True)


def _v3(conn: Connection) -> None:
    # Named queues in the outbox (Letta retries next to Honcho messages). Existing rows are Honcho messages.
    if "queue" not in {c["name"] for c in inspect(conn).get_columns("youlab_outbox")}:
        conn.execute(text("ALTER TABLE youlab_outbox ADD COLUMN queue VARCHAR(32) NOT NULL DEFAULT 'honcho'"))
    conn.execute(text("DROP INDEX IF EXISTS ix_youlab_outbox_ready"))  # superseded: claims filter by queue first
    for index in tables.outbox.indexes:
        index.create(conn, checkfirst=True)


def _v4(conn: Connection) -> None:
    # The agent folders the bundle created (the thread writer writes into no other folder).
    tables.agent_folders.create(conn, checkfirst=True)


def _v5(conn: Connection) -> None:
    # Paused tasks and the record of who paused and resumed them (`youlab pause`, `youlab resume`).
    for table in (tables.task_pauses, tables.task_actions):
        table.create(conn, checkfirst=True)


def _v6(conn: Connection) -> None:
    # Each scheduler's last tick (the dashboard's Health), the runs' per-course index (its students view); task
    # actions gain "run" and "retry" (no schema change).
    tables.heartbeats.create(conn, checkfirst=True)
    next(i for i in tables.runs.indexes if i.name == "ix_youlab_runs_course_user").create(conn, checkfirst=True)


def _v7(conn: Connection) -> None:
    # A thread's narrative: what its report says beyond the changes (questions answered without one, problems,
    # values held back), kept so the report a review rebuilds from the server is the whole report.
    if "narrative" not in {c["name"] for c in inspect(conn).get_columns("youlab_threads")}:
        conn.execute(text("ALTER TABLE youlab_threads ADD COLUMN narrative TEXT"))


def _v8(conn: Connection) -> None:
    # When the thread writer archived a thread with nothing left to decide: later runs stop reading it.
    if "closed_at" not in {c["name"] for c in inspect(conn).get_columns("youlab_threads")}:
        conn.execute(text("ALTER TABLE youlab_threads ADD COLUMN closed_at FLOAT"))


MIGRATIONS: list[tuple[int, Callable[[Connection], None]]] = [(1, _v1), (2, _v2), (3, _v3), (4, _v4), (5, _v5),
                                                              (6, _v6), (7, _v7), (8, _v8)]
LATEST = MIGRATIONS[-1][0]


def current_version(conn: Connection) -> int:
    tables.schema_version.create(conn, checkfirst=True)
    return int(conn.execute(select(func.coalesce(func.max(tables.schema_version.c.version), 0))).scalar_one())


def migrate(engines: Engines, target: int = LATEST) -> int:
    """Bring the schema to `target`; returns the version now in place."""
    with engines.write.begin() as conn:
        if engines.dialect == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _ADVISORY_LOCK_KEY})
        version = current_version(conn)
        if version > LATEST:
            raise YoulabError(
                f"the state database has schema version {version}, newer than this youlab-core ({LATEST}): upgrade youlab-core"
            )
        for number, step in MIGRATIONS:
            if version < number <= target:
                step(conn)
                conn.execute(tables.schema_version.insert().values(version=number, applied_at=time.time()))
                version = number
        return version
