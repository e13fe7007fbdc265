"""Shared plumbing of the SQLAlchemy store: engines, the clock, dialect-specific upserts, portable min()."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import ColumnElement, Connection, Select, Table, case, literal_column
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql.expression import ColumnClause

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

    def _pick(self, table: Table, key: ColumnElement[Any], pick: Select[Any]) -> ColumnElement[bool]:
        """The rows of `table` chosen by `pick` (a SELECT of `key` with a LIMIT, and FOR UPDATE SKIP LOCKED on
        PostgreSQL), as a condition for an UPDATE of `table`.

        PostgreSQL: the pick is a MATERIALIZED CTE (as a plain subquery it may run more than once inside an
        UPDATE, and the LIMIT would not bound the rows updated), joined back by physical row id (ctid). A join on
        the key would let the planner, misled by statistics that never see many rows due at once, scan the CTE
        once per candidate row: quadratic in the number due.
        """
        if self.dialect == "postgresql":
            picked = pick.with_only_columns(literal_column("ctid").label("row_ctid")).cte("picked").prefix_with("MATERIALIZED")
            ctid: ColumnClause[Any] = ColumnClause("ctid", _selectable=table)  # a system column: bound to the table, so it renders qualified
            return ctid == picked.c.row_ctid
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
