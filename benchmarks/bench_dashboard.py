"""The course dashboard's runs and students views (issue 13) for one course of 5,000 students and 100,000 runs.

Runs view: `course_status` without students (each task's latest runs with their next retry, the work pending,
pauses, who did what, the schedulers' last ticks, the outbox backlogs), unfiltered and filtered to failed runs.
Students view: what the dashboard shows, `student_page` (how many students, the 50 most recently active with their
runs and failures, and from each one's repository the decision counts, the waiting changes and the median time to
decide), first and last page; and `student_progress`, every student at once (what `youlab status` prints). Baseline,
in the same run: the bare SQL of the same rows (each task's latest runs; the page's activity rows with their run
counts; every activity row and the per-student run counts), so the table shows what the dashboard adds on top of
reading its rows. The students' repositories are copies of the working files of one real
repository (decision counts, pending index, an archive of decided changes): what the view reads of a student.
"""

from __future__ import annotations

import json
import random
import shutil
import statistics
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select, text

from youlab_core.config import CourseRegistry
from youlab_core.dashboard import course_status, student_progress
from youlab_core.dashboard_students import student_page
from youlab_core.memory import MemoryStore
from youlab_core.settings import Settings
from youlab_core.state import SqlStateStore, open_store
from youlab_core.state.tables import activity, runs
from youlab_core.threads.dashboard_view import DashboardData, render_dashboard
from youlab_core.triggers import FakeClock
from tests.support.courses import course_toml, task, write_course

from .table import Row, ms, time_calls

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
TASKS = ("grader", "tracker", "weekly")
GOAL_S = 0.200


def _course(config_dir: Path) -> CourseRegistry:
    write_course(config_dir, course_toml("bench", tasks=[task("grader"), task("tracker", on_idle=True),
                                                         task("weekly", schedule="0 9 * * 1")]), folder="bench")
    registry = CourseRegistry(config_dir)
    registry.reload()
    return registry


def _load(store: SqlStateStore, students: int, total_runs: int) -> None:
    rng = random.Random(13)
    acts = [(f"u{i:05}", "bench", NOW.timestamp() - 86400 * 30, NOW.timestamp() - rng.randrange(86400 * 7),
             rng.randrange(1, 400)) for i in range(students)]
    rows = []
    for i in range(total_runs):
        at = NOW.timestamp() - (total_runs - i) * 30
        status = "failed" if i % 50 == 0 else "retrying" if i % 97 == 0 else "succeeded"
        rows.append((f"run-{i:07}", TASKS[i % 3], "bench", f"u{rng.randrange(students):05}", "schedule", at, at,
                     at + 20, status, 1, "LLMError: upstream 503" if status != "succeeded" else None,
                     json.dumps({"prompt_tokens": 900, "completion_tokens": 120})))
    raw = store.engines.write.raw_connection()
    try:
        raw.executemany(f"INSERT INTO {activity.name} (user_id, course_id, first_message_at, last_message_at, "
                        "message_count) VALUES (?, ?, ?, ?, ?)", acts)
        raw.executemany(f"INSERT INTO {runs.name} (id, task, course_id, user_id, trigger, claimed_at, started_at, "
                        "finished_at, status, attempts, error, token_usage) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        rows)
        raw.commit()
        raw.execute("ANALYZE")
        raw.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        raw.close()


def _repositories(root: Path, registry: CourseRegistry, students: int) -> None:
    """One real student repository with decided and waiting changes; its working files copied for every student."""
    course = registry.course("bench")
    template = MemoryStore(root / "template", courses=registry).student("t")
    ids = []
    for i, value in enumerate(("first", "second", "third", "fourth", "fifth")):
        diff = template.propose(course, agent="grader", run_id=f"r{i}", block="student", field="notes",
                                operation="replace", proposed_value=value, reasoning="r", confidence="high",
                                source_query="q")
        ids.append(diff.id)
        if i < 3:
            template.approve(diff.id, reviewer="student:t")
        elif i == 3:
            template.reject(diff.id, reviewer="student:t")
    source = template.repo.path
    users = root / "users"
    users.mkdir()
    for i in range(students):
        target = users / f"u{i:05}"
        shutil.copytree(source, target, ignore=shutil.ignore_patterns(".git"))
        (target / ".git").mkdir()  # what the view checks for a new commit (git's own files are not read)


def _median(samples: list[float]) -> float:
    return statistics.median(samples)


def run(quick: bool) -> list[Row]:
    students, total = (500, 10_000) if quick else (5_000, 100_000)
    repeat = 5 if quick else 15
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        registry = _course(root / "config")
        store = open_store(Settings(), url=f"sqlite:///{root / 'state.db'}", clock=FakeClock(NOW))
        try:
            _load(store, students, total)
            _repositories(root, registry, students)
            users_root = root / "users"
            course = registry.course("bench")

            def runs_view() -> object:
                return course_status(store, registry, NOW, course="bench", students=False)

            def failed_view() -> object:
                return course_status(store, registry, NOW, course="bench", students=False, status="failed")

            def students_view() -> object:
                return student_page(store, course, users_root, limit=50)

            def last_page() -> object:
                return student_page(store, course, users_root, limit=50, offset=students - 50)

            def every_student() -> object:
                return student_progress(store, course, users_root)

            def page_sql(offset: int = 0) -> object:
                with store.engines.read.connect() as conn:
                    return conn.execute(text(
                        "SELECT a.*, (SELECT count(*) FROM youlab_runs r WHERE r.course_id = a.course_id AND "
                        "r.user_id = a.user_id) FROM youlab_activity a WHERE a.course_id = 'bench' "
                        f"ORDER BY a.last_message_at DESC LIMIT 50 OFFSET {offset}")).all()

            def runs_sql() -> object:
                with store.engines.read.connect() as conn:
                    return [conn.execute(select(runs).where(runs.c.task == t).order_by(runs.c.claimed_at.desc())
                                         .limit(5)).all() for t in TASKS]

            def students_sql() -> object:
                with store.engines.read.connect() as conn:
                    acts = conn.execute(select(activity).where(activity.c.course_id == "bench")).all()
                    counts = conn.execute(select(runs.c.user_id, func.count()).where(runs.c.course_id == "bench")
                                          .group_by(runs.c.user_id)).all()
                    return acts, counts

            cold = time_calls(every_student, 1)[0]  # the first read of every archive (then cached per repository)
            status = course_status(store, registry, NOW, course="bench", students=False)
            total_students, page = student_page(store, course, users_root, limit=50)
            status.courses[0].students = page
            data = DashboardData("adm", "admin", False, status.courses[0], status.health, NOW, names={},
                                 students_total=total_students)
            measured = [
                ("runs view (3 tasks, latest 5 each)", runs_view, runs_sql),
                ("runs view, failed only", failed_view, runs_sql),
                (f"students view: 50 most recent of {students:,}", students_view, page_sql),
                ("students view: last page", last_page, lambda: page_sql(students - 50)),
                (f"every student at once ({students:,}, youlab status)", every_student, students_sql),
                ("dashboard Markdown (figures given, 50 students shown)", lambda: render_dashboard(data), None),
            ]
            rows = []
            for name, fn, base in measured:
                value = _median(time_calls(fn, repeat))
                baseline = ms(_median(time_calls(base, repeat))) + " (bare SQL)" if base is not None else ""
                note = ("goal < 200 ms: " + ("met" if value < GOAL_S else "MISSED")) if "view" in name else ""
                rows.append(Row("dashboard", f"{name}, median", ms(value), baseline, note))
            rows.append(Row("dashboard", "every student, first read (archives not cached)", ms(cold), "",
                            f"{students:,} repositories, {total:,} runs"))
            with store.engines.read.connect() as conn:
                plan = " ".join(str(r[-1]) for r in conn.execute(text(
                    "EXPLAIN QUERY PLAN SELECT user_id, count(*) FROM youlab_runs WHERE course_id = 'bench' "
                    "GROUP BY user_id")))
            rows.append(Row("dashboard", "run counts per student: query plan", plan[:80]))
            return rows
        finally:
            store.close()
