"""Runner throughput: students x 4 queries against a Honcho test server that adds 200 ms to every dialectic call.

The Honcho test server runs in its own process (a real Honcho is another service; sharing the GIL with it would
measure the test server). The runner uses the real honcho-ai SDK, the real state store (SQLite) and real per-student
git memory, with concurrency 32. Figures, all from the same run:
- the ideal bound: students x queries x latency / concurrency (only the dialectic's waiting, nothing else);
- one student at a time (concurrency 1), measured on a subset and extrapolated to all students (said so in the row);
- memory held per student in flight: tracemalloc peak of a separate, smaller run divided by the students in flight.
Queries use append and replace (no LLM call), so the dialectic is the only external wait. The headline row is for
students who already have a memory repository (every run after their first); their first run, which also creates
the repository, is its own row.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import tempfile
import time
import tracemalloc
from pathlib import Path

from tests.support.courses import block, course_toml, query, task, write_course

from .table import Row

LATENCY = 0.2
QUERIES = 4
CONCURRENCY = 32
WRITE_PROCESSES = 1  # memory writes in one worker process: the runner then uses two cores (CI has two)

# Append and replace only: the dialectic is the one external wait.
COURSE = course_toml("bench", blocks={
    "student": block({"topics": {"type": "string", "default": ""}, "summary": {"type": "string", "default": ""}}),
    "journey": block({"notes": {"type": "string", "default": ""}, "status": {"type": "string", "default": ""}}),
}, tasks=[task("bench", queries=[
    query("student.topics", "What does the student love writing about?", merge="append"),
    query("student.summary", "What is the student's essay about?", merge="replace"),
    query("journey.notes", "What does the student love about their essay?", merge="append"),
    query("journey.status", "What is the student's essay topic?", merge="replace"),
])])


def _serve_honcho(conn, latency: float) -> None:  # runs in the child process
    from tests.servers.honcho_server import HonchoTestServer

    server = HonchoTestServer("127.0.0.1", 0).start()
    server.set_latency(latency, "chat")
    conn.send(server.url)
    conn.recv()  # wait for "stop"
    server.stop()


class HonchoProcess:
    def __enter__(self) -> str:
        ctx = multiprocessing.get_context("spawn")
        self.parent, child = ctx.Pipe()
        self.process = ctx.Process(target=_serve_honcho, args=(child, LATENCY), daemon=True)
        self.process.start()
        return self.parent.recv()

    def __exit__(self, *exc: object) -> None:
        self.parent.send("stop")
        self.process.join(10)


def _settings(root: Path, honcho_url: str, concurrency: int):
    from youlab_core.settings import Settings

    return Settings(storage_root=root, config_dir=root / "config", honcho_url=honcho_url, runner_concurrency=concurrency,
                    call_retries=2, dialectic_timeout_seconds=30, mirror_concurrency=16, outbox_max_items=100_000)


async def _seed(state, settings, users: list[str]) -> float:
    from youlab_core.dialectic.mirror import HonchoMirror

    mirror = HonchoMirror(state, settings)
    for i, user in enumerate(users):
        mirror.enqueue(user, f"{user}-chat", "user",
                       f"I love writing about topic {i} and my family. My essay is about the summer I spent on topic {i}.")
    started = time.perf_counter()
    while state.outbox_stats().queued:
        await mirror.flush()
    elapsed = time.perf_counter() - started
    await mirror.stop()
    return elapsed


def _runner(settings, registry, state, memory, concurrency: int, write_processes: int = WRITE_PROCESSES):
    from youlab_core.dialectic import HonchoDialectic
    from youlab_core.dialectic.honcho import honcho_client
    from youlab_core.runner import Runner

    settings = settings.model_copy(update={"runner_concurrency": concurrency,
                                           "runner_write_processes": write_processes})
    client = honcho_client(settings.honcho_url, "", settings.honcho_workspace, timeout=30)
    return Runner(settings, registry, memory, state, HonchoDialectic(client, timeout=30), None)


def _ideal(students: int) -> float:
    return students * QUERIES * LATENCY / CONCURRENCY


def _precreate(memory, registry, users: list[str]) -> None:
    """Give students a repository already (the usual case: a student's memory exists after their first run)."""
    from concurrent.futures import ThreadPoolExecutor

    course = registry.course("bench")

    def one(user: str) -> None:
        memory.student(user).write_field(course, "journey", "status", "started", author="system:bench")

    with ThreadPoolExecutor(CONCURRENCY) as pool:
        list(pool.map(one, users))


async def _timed_run(runner, users: list[str]) -> float:
    from youlab_core.manual import manual_run
    from youlab_core.scheduler import Scheduler

    started = time.perf_counter()
    report = await manual_run(Scheduler(runner.runs, runner.registry, runner.run_work, runner.settings), runner,
                               "bench", users)
    elapsed = time.perf_counter() - started
    bad = [s.errors() for s in report.students if s.status != "succeeded"]
    assert not bad, bad[:3]
    assert report.diffs_proposed == len(users) * QUERIES, report.diffs_proposed
    await runner.aclose()
    return elapsed


async def _measure(students: int, baseline_students: int, memory_students: int) -> list[Row]:
    from youlab_core.config import CourseRegistry
    from youlab_core.memory import MemoryStore
    from youlab_core.state import open_store

    with tempfile.TemporaryDirectory() as tmp, HonchoProcess() as honcho_url:
        root = Path(tmp)
        write_course(root / "config", COURSE)
        settings = _settings(root, honcho_url, CONCURRENCY)
        registry = CourseRegistry(settings.config_dir)
        registry.reload()
        state = open_store(settings)
        memory = MemoryStore.from_settings(settings, courses=registry)
        warm = [f"w{i:05d}" for i in range(students)]
        side = max(CONCURRENCY * 2, students // 4)  # the comparison rows use fewer students (each has its own ideal)
        warm_t = [f"t{i:05d}" for i in range(side)]
        unsynced = [f"u{i:05d}" for i in range(side)]
        cold = [f"c{i:05d}" for i in range(side)]
        base = [f"b{i:05d}" for i in range(baseline_students)]
        mem_users = [f"m{i:05d}" for i in range(memory_students)]
        seed_time = await _seed(state, settings, warm + warm_t + unsynced + cold + base + mem_users)
        await asyncio.to_thread(_precreate, memory, registry, warm + warm_t + unsynced + base + mem_users)
        # The same writes without the fsyncs of docs/memory.md's power-cut guarantee: the runner's figure before it.
        memory_unsynced = MemoryStore.from_settings(settings.model_copy(update={"memory_fsync": False}),
                                                    courses=registry)

        concurrent = await _timed_run(_runner(settings, registry, state, memory, CONCURRENCY), warm)
        threads_only = await _timed_run(_runner(settings, registry, state, memory, CONCURRENCY, 0), warm_t)
        no_fsync = await _timed_run(_runner(settings, registry, state, memory_unsynced, CONCURRENCY), unsynced)
        first_run = await _timed_run(_runner(settings, registry, state, memory, CONCURRENCY), cold)
        per_student = await _timed_run(_runner(settings, registry, state, memory, 1), base) / baseline_students

        mem_runner = _runner(settings, registry, state, memory, CONCURRENCY)
        tracemalloc.start()
        before = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        await _timed_run(mem_runner, mem_users)
        peak = tracemalloc.get_traced_memory()[1] - before
        tracemalloc.stop()
        state.close()

    ideal = _ideal(students)
    ratio = concurrent / ideal
    in_flight = min(CONCURRENCY, memory_students)
    serial = f"one at a time {per_student * students:.0f} s (extrapolated from {baseline_students} students: " \
             f"{per_student:.2f} s each)"
    return [
        Row("runner", f"{students} students x {QUERIES} queries, 200 ms dialectic, concurrency {CONCURRENCY}",
            f"{concurrent:.1f} s ({ratio:.2f}x ideal; {students / concurrent:.1f} students/s)",
            f"ideal {ideal:.1f} s; {serial}",
            f"repos exist, writes in {WRITE_PROCESSES} worker process; target <= 1.25x ideal: "
            + ("met" if ratio <= 1.25 else "NOT met")),
        Row("runner", f"same with memory writes in this process's threads ({len(warm_t)} students)",
            f"{threads_only:.1f} s ({threads_only / _ideal(len(warm_t)):.2f}x ideal)",
            f"ideal {_ideal(len(warm_t)):.1f} s", f"headline uses runner_write_processes={WRITE_PROCESSES}"),
        Row("runner", f"same without fsync ({len(unsynced)} students, YOULAB_MEMORY_FSYNC=false)",
            f"{no_fsync:.1f} s ({no_fsync / _ideal(len(unsynced)):.2f}x ideal)", f"ideal {_ideal(len(unsynced)):.1f} s",
            "the power-cut guarantee's price (docs/memory.md): compare with the headline"),
        Row("runner", f"same, every student's first run, repo created ({len(cold)} students)",
            f"{first_run:.1f} s ({first_run / _ideal(len(cold)):.2f}x ideal)", f"ideal {_ideal(len(cold)):.1f} s",
            "creating a git repo per student costs about as much as the run's commit"),
        Row("runner", "memory per student in flight (tracemalloc peak / in flight)",
            f"{peak / in_flight / 1024:.0f} KiB", f"peak {peak / 1024 / 1024:.1f} MiB for {in_flight} in flight",
            f"separate run of {memory_students} students"),
        Row("runner", f"Honcho mirror: {len(warm + warm_t + unsynced + cold + base + mem_users)} messages seeded",
            f"{seed_time:.1f} s", "", "batches <= 100 per session; 1 session per student here"),
    ]


def run(quick: bool) -> list[Row]:
    if quick:
        return asyncio.run(_measure(students=128, baseline_students=4, memory_students=32))
    return asyncio.run(_measure(students=1000, baseline_students=20, memory_students=64))
