"""Replicas: three scheduler processes sharing one PostgreSQL state store, next to one process, in the same run.

10,000 students of one task are loaded. Steady phase: every second the driver makes a fresh 1% of them (100) due
"now", for a fixed number of seconds. Burst phase: then every student not yet due becomes due at once. Each replica
is its own OS process running the real `Scheduler.run_forever` (plan, claim with leases, run records, settle; poll
every 1 s plus up to 0.2 s jitter; the default 4 batches of 50 per process at once) with a no-op handler that notes
when it started each student. Figures per setup: claims per second (the burst's students / time from their due
time to the last start), duplicate runs (a student started twice for one due time, both phases; must be 0) and
time from due to start in the steady phase (p50, p99: a tick's wait, the claim and the hand-over). Open WebUI is
not involved: this measures the claims.
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import statistics
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

from sqlalchemy import func, select, update

from tests.support.courses import course_toml, task, write_course

from .table import Row, percentile

STUDENTS = 10_000
DUE_PER_TICK = STUDENTS // 100
TICK = 1.0
POLL, JITTER = 1.0, 0.2  # seconds: the scheduler ticks every POLL plus up to JITTER
COURSE = course_toml("bench", tasks=[task("bench", batch_size=50)])


def _replica(url: str, config_dir: str, owner: str, stop_file: str, out: str) -> None:
    """One replica: the scheduler loop until `stop_file` exists, then (user, due, started) of every student it
    ran, as JSON."""
    from youlab_core.config import CourseRegistry
    from youlab_core.scheduler import DueWork, Scheduler
    from youlab_core.settings import Settings
    from youlab_core.state import open_store

    started: list[tuple[str, float, float]] = []

    async def handler(work: DueWork) -> None:
        now = time.time()
        started.extend((c.user_id, c.due_at.timestamp(), now) for c in work.claims)

    async def main() -> None:
        registry = CourseRegistry(Path(config_dir))
        registry.reload()
        store = open_store(url=url)
        settings = Settings(poll_interval_seconds=POLL, poll_jitter_seconds=JITTER)
        scheduler = Scheduler(store, registry, handler, settings, owner=owner)
        loop = asyncio.create_task(scheduler.run_forever())
        while not Path(stop_file).exists():
            await asyncio.sleep(0.2)
        await scheduler.stop()
        await loop
        store.close()

    asyncio.run(main())
    Path(out).write_text(json.dumps(started))


def _load(url: str) -> None:
    from youlab_core.state import open_store
    from youlab_core.state.tables import activity, trigger_state

    store = open_store(url=url)
    try:
        with store.engines.write.begin() as conn:
            cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
            with cursor.copy(f"COPY {activity.name} (user_id, course_id, first_message_at, last_message_at, "
                             "message_count) FROM STDIN") as copy:
                for i in range(STUDENTS):
                    copy.write_row((f"u{i:05}", "bench", 0.0, 1.0, 3))
            with cursor.copy(f"COPY {trigger_state.name} (task, user_id, course_id, messages_at_last_run, runs, "
                             "failures, attempts) FROM STDIN") as copy:
                for i in range(STUDENTS):
                    copy.write_row(("bench", f"u{i:05}", "bench", 0, 0, 0, 0))
            conn.exec_driver_sql(f"ANALYZE {trigger_state.name}")
    finally:
        store.close()


def _drive(url: str, ticks: int) -> float:
    """Every TICK seconds a new 1% of the students becomes due now (each student once); then all the others at
    once. Returns the burst's due time."""
    from youlab_core.state import open_store
    from youlab_core.state.tables import trigger_state

    store = open_store(url=url)
    try:
        for k in range(ticks):
            users = [f"u{i:05}" for i in range(k * DUE_PER_TICK, (k + 1) * DUE_PER_TICK)]
            with store.engines.write.begin() as conn:
                conn.execute(update(trigger_state)
                             .where(trigger_state.c.task == "bench", trigger_state.c.user_id.in_(users))
                             .values(next_due_at=time.time(), due_kind="schedule"))
            time.sleep(TICK)
        burst_at = time.time()
        with store.engines.write.begin() as conn:
            conn.execute(update(trigger_state)
                         .where(trigger_state.c.task == "bench", trigger_state.c.user_id >= f"u{ticks * DUE_PER_TICK:05}")
                         .values(next_due_at=burst_at, due_kind="schedule"))
        # Wait until every student's run was settled (each once), with a generous bound.
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            with store.engines.read.connect() as conn:
                done = conn.execute(select(func.count()).select_from(trigger_state)
                                    .where(trigger_state.c.task == "bench", trigger_state.c.runs > 0)).scalar_one()
            if done >= STUDENTS:
                break
            time.sleep(0.5)
        return burst_at
    finally:
        store.close()


def _measure(url: str, config_dir: Path, replicas: int, ticks: int, tmp: Path) -> dict[str, Any]:
    _load(url)
    ctx = multiprocessing.get_context("spawn")  # no SQLAlchemy pools or event loops inherited through fork
    stop_file = tmp / f"stop-{replicas}"
    outs = [tmp / f"replica-{replicas}-{i}.json" for i in range(replicas)]
    procs = [ctx.Process(target=_replica, args=(url, str(config_dir), f"bench-{i}", str(stop_file), str(out)))
             for i, out in enumerate(outs)]
    for p in procs:
        p.start()
    time.sleep(4.0)  # the processes import and open the store before the first student is due
    burst_at = _drive(url, ticks)
    stop_file.touch()
    for p in procs:
        p.join(timeout=120)
        if p.exitcode != 0:
            raise RuntimeError(f"a replica scheduler exited with {p.exitcode}")
    started = [tuple(r) for out in outs for r in json.loads(out.read_text())]
    per_due = Counter((user, due) for user, due, _ in started)
    first_burst = f"u{ticks * DUE_PER_TICK:05}"  # due times come back rounded to microseconds: tell by student
    steady = [s - due for user, due, s in started if user < first_burst]
    burst = [s for user, _, s in started if user >= first_burst]
    return {
        "ran": len(per_due),
        "duplicates": sum(n - 1 for n in per_due.values() if n > 1),
        "claims_per_second": len(burst) / max(max(burst) - burst_at, 1e-9),
        "burst": len(burst),
        "p50": statistics.median(steady),
        "p99": percentile(steady, 99),
        "per_replica": [len(json.loads(out.read_text())) for out in outs],
    }


def run(quick: bool) -> list[Row]:
    from benchmarks.bench_state import _postgres

    ticks = 5 if quick else 20
    server = _postgres()
    if server is None:
        return [Row("replicas", "three scheduler processes on PostgreSQL", "not measured", "",
                    "no PostgreSQL binaries here")]
    rows: list[Row] = []
    try:
        with tempfile.TemporaryDirectory(prefix="youlab-bench-replicas-") as tmp_name:
            tmp = Path(tmp_name)
            write_course(tmp / "config", COURSE)
            one = _measure(server.fresh_url(), tmp / "config", 1, ticks, tmp)
            three = _measure(server.fresh_url(), tmp / "config", 3, ticks, tmp)
    finally:
        server.stop()
    for name, other, fig in (("3 replicas", "1 replica", three), ("1 replica", "", one)):
        base = f"{other}: " if other else ""
        rows.append(Row("replicas", f"{name}: claims per second ({fig['burst']:,} of {STUDENTS:,} due at once)",
                        f"{fig['claims_per_second']:.0f}/s",
                        f"{base}{one['claims_per_second']:.0f}/s" if other else "",
                        f"{fig['ran']:,} runs in all; per replica {fig['per_replica']}; each claims at most "
                        "4 batches of 50 per tick (the defaults)"))
        rows.append(Row("replicas", f"{name}: duplicate runs", str(fig["duplicates"]),
                        f"{base}{one['duplicates']}" if other else "", "must be 0"))
        rows.append(Row("replicas", f"{name}: due -> start p50 / p99 (1% due per {TICK:.0f} s, {ticks} s)",
                        f"{fig['p50']:.2f} s / {fig['p99']:.2f} s",
                        f"{base}{one['p50']:.2f} s / {one['p99']:.2f} s" if other else "",
                        f"poll {POLL:.0f} s + up to {JITTER} s jitter"))
    for fig in (one, three):
        if fig["duplicates"] or fig["ran"] != STUDENTS:
            raise AssertionError(f"{fig['ran']} of {STUDENTS} students ran, {fig['duplicates']} duplicate runs")
    return rows
