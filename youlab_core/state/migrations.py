"""Versioned schema migrations. `youlab_schema_version` holds one row per applied version.

Each step only adds (tables, columns, indexes), so an upgrade keeps every row. Several processes may start at
once: the steps run under a lock (SQLite: the write lock of BEGIN IMMEDIATE; PostgreSQL: an advisory lock).
"""

from __future__ import annotations

import time
from collections.abc import Callable

from sqlalchemy import Connection, func, select, text

from . import tables
from ..errors import YoulabError
from .engine import Engines

_ADVISORY_LOCK_KEY = 0x594F554C4142  # "YOULAB"


def _v1(conn: Connection) -> None:
    for table in tables.V1_TABLES:
        table.create(conn, checkfirst=True)


def _v2(conn: Connection) -> None:
    # The thread registry and the Honcho outbox.
    for table in tables.V2_TABLES:
        table.create(conn, checkfirst=True)


MIGRATIONS: list[tuple[int, Callable[[Connection], None]]] = [(1, _v1), (2, _v2)]
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
