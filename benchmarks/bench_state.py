"""State store and scheduler: tick cost against tracked (task, student) pairs, and the chat path's write.

A tick here is the whole round: plan (schedule and idle evaluation), claim the due rows, create run records, hand
batches to a no-op handler and settle every claim. It is measured with 1% of the pairs due, and with a fixed 100
due, at each size: the second column shows the tick does not grow with the number of pairs, only with what is due.
The baseline is a full scan of the same table, which is what a tick without the due-time index would cost at least.
"""

from __future__ import annotations

import asyncio
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Column, Integer, MetaData, String, Table, func, select, update

from youlab_core.config import CourseRegistry
from youlab_core.scheduler import DueWork, Scheduler
from youlab_core.settings import Settings
from youlab_core.state import SqlStateStore, open_store
from youlab_core.state.tables import activity, trigger_state
from youlab_core.triggers import FakeClock
from tests.support.courses import course_toml, task, write_course

from .table import Row, ms, summary, time_calls

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
COURSE = course_toml("bench", tasks=[
    task("bench", batch_size=50),
    task("bench-count", after_messages=1_000_000, batch_size=50),
    task("bench-idle", on_idle=True, idle_threshold_minutes=5, batch_size=50),
])


def _load(store: SqlStateStore, total: int) -> None:
    """Bulk-load `total` pairs: half with a due time in the future, half with nothing pending, none due yet.
    PostgreSQL: COPY; SQLite: executemany in one transaction."""
    future = (NOW + timedelta(hours=1)).timestamp()
    acts = ((f"u{i:07}", "bench", 0.0, 1.0, 3) for i in range(total))
    states = (("bench", f"u{i:07}", "bench", future if i % 2 else None, "on_idle" if i % 2 else None, 0, 0, 0, 0)
              for i in range(total))
    act_cols = ("user_id", "course_id", "first_message_at", "last_message_at", "message_count")
    state_cols = ("task", "user_id", "course_id", "next_due_at", "due_kind", "messages_at_last_run", "runs", "failures", "attempts")
    with store.engines.write.begin() as conn:
        if store.dialect == "postgresql":
            cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
            for table, cols, rows in ((activity, act_cols, acts), (trigger_state, state_cols, states)):
                with cursor.copy(f"COPY {table.name} ({', '.join(cols)}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
        else:
            raw = conn.connection.driver_connection
            raw.executemany(f"INSERT INTO {activity.name} ({', '.join(act_cols)}) VALUES (?, ?, ?, ?, ?)", acts)  # type: ignore[union-attr]
            raw.executemany(f"INSERT INTO {trigger_state.name} ({', '.join(state_cols)}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", states)  # type: ignore[union-attr]
    # Settle the load before timing: table statistics (PostgreSQL), and the WAL copied into the database file
    # (SQLite), so the ticks measured do not pay for checkpointing the bulk load.
    if store.dialect == "postgresql":
        with store.engines.write.begin() as conn:
            conn.exec_driver_sql(f"ANALYZE {activity.name}")
            conn.exec_driver_sql(f"ANALYZE {trigger_state.name}")
    else:
        raw = store.engines.write.raw_connection()  # outside a transaction: a checkpoint cannot run inside one
        try:
            raw.driver_connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # type: ignore[union-attr]
        finally:
            raw.close()


def _make_due(store: SqlStateStore, total: int, due: int) -> None:
    if due == 0:
        return
    step = max(1, total // due)
    users = [f"u{i:07}" for i in range(0, total, step)][:due]
    past = (NOW - timedelta(minutes=1)).timestamp()
    with store.engines.write.begin() as conn:
        for start in range(0, len(users), 500):
            conn.execute(update(trigger_state)
                         .where(trigger_state.c.task == "bench", trigger_state.c.user_id.in_(users[start:start + 500]))
                         .values(next_due_at=past, due_kind="schedule"))


async def _noop(work: DueWork) -> None:
    return None


def _tick_times(store: SqlStateStore, registry: CourseRegistry, total: int, due: int, repeat: int) -> list[float]:
    clock = FakeClock(NOW)
    settings = Settings(scheduler_max_batches=10_000, scheduler_claim_limit=100_000)
    samples = []
    for _ in range(repeat):
        _make_due(store, total, due)
        scheduler = Scheduler(store, registry, _noop, settings, clock=clock, owner="bench")

        async def one_tick() -> int:
            works = await scheduler.tick()
            await scheduler.drain()
            return sum(len(w.claims) for w in works)

        start = time.perf_counter()
        ran = asyncio.run(one_tick())
        samples.append(time.perf_counter() - start)
        if ran != due:
            raise AssertionError(f"tick ran {ran} of {due} due pairs")
    return samples


def _full_scan(store: SqlStateStore) -> float:
    with store.engines.read.connect() as conn:
        start = time.perf_counter()
        conn.execute(select(func.sum(trigger_state.c.runs))).scalar()
        return time.perf_counter() - start


def _record_costs(store: SqlStateStore, total: int, repeat: int) -> tuple[list[float], list[float]]:
    bare = Table("bench_bare_insert", MetaData(), Column("id", Integer, primary_key=True), Column("user_id", String(255)))
    bare.create(store.engines.write, checkfirst=True)
    users = [f"u{(i * 7919) % max(total, 1):07}" for i in range(repeat)]
    it = iter(users)
    record = time_calls(lambda: store.record_message(next(it), "bench", NOW), repeat)

    def insert() -> None:
        with store.engines.write.begin() as conn:
            conn.execute(bare.insert().values(user_id="u"))

    return record, time_calls(insert, repeat)


def _after_messages_check(store: SqlStateStore, registry: CourseRegistry, total: int, repeat: int) -> list[float]:
    scheduler = Scheduler(store, registry, _noop, Settings(), clock=FakeClock(NOW), owner="bench")
    users = iter([f"u{(i * 7919) % max(total, 1):07}" for i in range(repeat)])

    def check() -> None:
        if scheduler.claim_after_messages(next(users), "bench", "chat-1"):
            raise AssertionError("nothing should be due")

    return time_calls(check, repeat)


def _backend_rows(name: str, url: str, sizes: list[int], quick: bool, registry: CourseRegistry) -> list[Row]:
    rows: list[Row] = []
    for total in sizes:
        store = open_store(url=url, clock=FakeClock(NOW))
        try:
            start = time.perf_counter()
            _load(store, total)
            load_s = time.perf_counter() - start
            store.set_idle_swept("bench-idle", "bench", (NOW - timedelta(minutes=5)).timestamp())  # steady state
            repeat = 3 if quick else 5
            due_1pct = max(1, total // 100)
            one_pct = _tick_times(store, registry, total, due_1pct, repeat)
            fixed = _tick_times(store, registry, total, 100, repeat)
            empty = _tick_times(store, registry, total, 0, repeat)
            scan = _full_scan(store)
            rows.append(Row("state", f"{name}: tick, {total:,} pairs, 1% due ({due_1pct:,})", ms(statistics.median(one_pct)),
                            f"full scan of the pairs: {ms(scan)}", f"loaded in {load_s:.1f} s"))
            rows.append(Row("state", f"{name}: tick, {total:,} pairs, 100 due", ms(statistics.median(fixed)),
                            f"full scan of the pairs: {ms(scan)}", f"{ms(statistics.median(fixed) / 100)} per due pair"))
            rows.append(Row("state", f"{name}: tick, {total:,} pairs, nothing due", ms(statistics.median(empty)),
                            f"full scan of the pairs: {ms(scan)}", "reads only"))
            if total == sizes[min(1, len(sizes) - 1)]:
                record, bare = _record_costs(store, total, 300 if quick else 2000)
                rows.append(Row("state", f"{name}: record one student message ({total:,} students)", summary(record),
                                f"bare insert: {summary(bare)}"))
                check = _after_messages_check(store, registry, total, 300 if quick else 2000)
                rows.append(Row("state", f"{name}: chat path after_messages check, not due", summary(check),
                                f"bare insert: {summary(bare)}", "reads only: activity + trigger state"))
        finally:
            store.close()
            _drop(url)
    return rows


def _drop(url: str) -> None:
    if url.startswith("sqlite:///"):
        for suffix in ("", "-wal", "-shm"):
            Path(url.removeprefix("sqlite:///") + suffix).unlink(missing_ok=True)


def _postgres() -> Any:
    try:
        from tests.support.postgres import PostgresServer
    except ImportError:
        return None
    try:
        server = PostgresServer()
        server.start()
        return server
    except Exception:
        return None


def run(quick: bool) -> list[Row]:
    sizes = [1_000, 100_000] if quick else [1_000, 100_000, 1_000_000]
    with tempfile.TemporaryDirectory(prefix="youlab-bench-state-") as tmp:
        write_course(Path(tmp, "config"), COURSE)
        registry = CourseRegistry(Path(tmp, "config"))
        registry.reload()
        rows = _backend_rows("sqlite", f"sqlite:///{tmp}/state.db", sizes, quick, registry)
        server = _postgres()
        if server is None:
            rows.append(Row("state", "postgresql", "not measured", "", "no PostgreSQL binaries here"))
            return rows
        try:
            for total in sizes:
                rows += _backend_rows("postgresql", server.fresh_url(), [total], quick, registry)
        finally:
            server.stop()
    return rows

