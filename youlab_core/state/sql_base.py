"""Shared plumbing of the SQLAlchemy store: engines, the clock, dialect-specific upserts, portable min()."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import ColumnElement, Connection, Select, Table, case, select
from sqlalchemy.dialects import postgresql, sqlite

from ..triggers.clock import Clock, SystemClock
from .engine import Engines


class SqlBase:
    def __init__(self, engines: Engines, clock: Clock | None = None):
        self.engines = engines
        self.clock: Clock = clock or SystemClock()
        self.dialect = engines.dialect
        self._write_lock = _sqlite_lock(engines.write.url.database) if self.dialect == "sqlite" else None

    @contextmanager
    def _writing(self) -> Iterator[Connection]:
        """A write transaction. On SQLite, threads of this process queue on a lock first: SQLite's own busy
        handler polls with growing sleeps, which makes many threads contending for its write lock slow."""
        if self._write_lock is None:
            with self.engines.write.begin() as conn:
                yield conn
            return
        with self._write_lock, self.engines.write.begin() as conn:
            yield conn

    def _insert(self, table: Table) -> Any:
        """An INSERT that supports ON CONFLICT on this dialect."""
        return (postgresql.insert if self.dialect == "postgresql" else sqlite.insert)(table)

    def _pick(self, key: ColumnElement[Any], pick: Select[Any]) -> ColumnElement[bool]:
        """`key IN (pick)`, where `pick` holds a LIMIT (and FOR UPDATE SKIP LOCKED on PostgreSQL).

        PostgreSQL may run such a subquery more than once inside an UPDATE, so the LIMIT would not bound the
        rows updated; there the pick is a MATERIALIZED CTE, evaluated exactly once.
        """
        if self.dialect == "postgresql":
            picked = pick.cte("picked").prefix_with("MATERIALIZED")
            return key.in_(select(picked.c[0]))
        return key.in_(pick)

    def _now(self) -> float:
        return self.clock.now().timestamp()


_SQLITE_LOCKS: dict[str, threading.Lock] = {}
_SQLITE_LOCKS_GUARD = threading.Lock()


def _sqlite_lock(database: str | None) -> threading.Lock:
    key = os.path.realpath(database or ":memory:")
    with _SQLITE_LOCKS_GUARD:
        return _SQLITE_LOCKS.setdefault(key, threading.Lock())


def least(a: ColumnElement[Any], b: ColumnElement[Any]) -> ColumnElement[Any]:
    """min(a, b) where NULL means "none" (portable: SQLite's min() and PostgreSQL's LEAST() treat NULL differently)."""
    return case((a.is_(None), b), (b.is_(None), a), (a <= b, a), else_=b)
