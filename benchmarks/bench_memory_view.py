"""The student's memory view (docs/memory-view.md): opening its data for a student with 3 courses, 50 fields and
2,000 commits of history, next to a bare `git log` of the same repository in the same run (goal: median under
150 ms); the buttons' undo and edit with 10,000 students' repositories on disk (goal: median under 30 ms, as
propose + approve in bench_memory), each timed operation on a different, randomly chosen student.

"Opening the view's data" is `gather` for each of the student's 3 courses (what the three pinned views show:
blocks with each field's last change, the agents and their runs from the thread registry, the waiting changes).
The last-change column is cached by HEAD in the student's git directory (youlab_core/bundle/memory_last_change.py),
so three cases are measured: an open with the cache current (the view opened again), an open after one new change
(every refresh after a decision, undo or edit: only the new commit is walked), and the first open ever (no cache:
the whole history is walked, once per student). The repository is packed as upkeep leaves a student's repository
that has grown (youlab_core/memory/upkeep.py); the first open is also measured before packing (every object loose).
"""

from __future__ import annotations

import asyncio
import os
import random
import shutil
import statistics
import subprocess
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from youlab_core.bundle.memory_fields import parse_value
from youlab_core.bundle.memory_last_change import CACHE_FILE
from youlab_core.bundle.memory_view import gather
from youlab_core.config import Course, load_course
from youlab_core.memory import MemoryStore
from youlab_core.memory.upkeep import pack
from youlab_core.state import open_store
from youlab_core.threads import MemoryChats

from .bench_memory import _populate, _snapshot
from .table import Row, ms, percentile

AREA = "memory-view"
FIELDS = (17, 17, 16)  # per course: 50 fields
BLOCKS_PER_COURSE = 3
HISTORY = 2_000
RUNS_PER_TASK = 10
VIEW_GOAL_MS = 150.0
ACTION_GOAL_MS = 30.0


def _course_toml(index: int, fields: int) -> str:
    """A course with `fields` string fields over BLOCKS_PER_COURSE blocks and two agents."""
    cid = f"bench-{index}"
    out = [f'[agent]\nid = "{cid}"\nname = "Bench course {index}"\ndescription = "d"\nmodels = ["{cid}-tutor"]\n']
    names: list[str] = []
    for b in range(BLOCKS_PER_COURSE):
        out.append(f'[block.b{b}]\ntitle = "Block {b}"\ndescription = "Block {b} of course {index}."')
        for f in range(b, fields, BLOCKS_PER_COURSE):
            out.append(f'field.f{f} = {{ type = "string", default = "", description = "Field {f} of block {b}." }}')
            names.append(f"b{b}.f{f}")
        out.append("")
    for t in range(2):
        out.append(f'[[task]]\nname = "{cid}-agent-{t}"\ndisplay_name = "Agent {t}"\ndescription = "Agent {t}."\n'
                   f'manual = true\nqueries = [{{ target = "{names[t]}", question = "What changed?", '
                   'scope = "all", merge = "replace" }]\n')
    return "\n".join(out)


def _courses(work: Path) -> list[Course]:
    courses = []
    for i, count in enumerate(FIELDS):
        path = work / "config" / "courses" / f"bench-{i}" / "course.toml"
        path.parent.mkdir(parents=True)
        path.write_text(_course_toml(i, count))
        courses.append(load_course(path))
    return courses


def _student_with_history(store: MemoryStore, courses: list[Course], user: str, commits: int) -> None:
    """`commits` field edits by agents and the student, spread over every course; two fields of each course are
    never changed (the worst case for the last-change column: their block's whole history is walked); a few
    changes wait for the student."""
    rng = random.Random(3)
    memory = store.student(user)
    targets = [(c, b, f) for c in courses for b, spec in c.blocks.items() for f in list(spec.fields)]
    never = {(c.id, *t) for c in courses for t in [(b, f) for b, spec in c.blocks.items() for f in spec.fields][-2:]}
    targets = [t for t in targets if (t[0].id, t[1], t[2]) not in never]
    for i in range(commits):
        course, block, field = rng.choice(targets)
        author = f"agent:{course.tasks[i % 2].name}" if i % 3 else f"student:{user}"
        memory.write_field(course, block, field, f"value {i} " + "words " * rng.randrange(5, 40), author=author)
    for course in courses:
        for t, task in enumerate(course.tasks):
            block, field = task.queries[0].target.split(".")
            memory.propose(course, agent=task.name, run_id=f"run-{t}", block=block, field=field, operation="replace",
                           proposed_value="waiting", reasoning="r", confidence="high", source_query="q")


async def _threads(sources: Any, courses: list[Course], user: str) -> None:
    """RUNS_PER_TASK run threads per agent, registered and present as chats (the view lists the last 10)."""
    start = datetime(2026, 1, 1, tzinfo=timezone.utc)
    for course in courses:
        for task in course.tasks:
            for r in range(RUNS_PER_TASK):
                chat = await sources.backend.create_chat(user, {"title": f"{task.title} - run {r}"}, folder_id=None,
                                                         meta={})
                sources.state.register_thread(chat.id, user, task.name, course.id, f"{task.name}-{r}",
                                              start + timedelta(days=r))


def _open_views(sources: Any, courses: list[Course], user: str) -> None:
    async def all_three() -> None:
        for course in courses:
            await gather(sources, user, course)
    asyncio.run(all_three())


def _bare_git_log(repo: Path) -> float:
    start = time.perf_counter()
    subprocess.run(["git", "-C", str(repo), "log"], check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def _view_rows(work: Path, courses: list[Course], repeat: int, commits: int) -> list[Row]:
    store = MemoryStore(work / "view-users")
    _student_with_history(MemoryStore(work / "view-users", sync=False), courses, "student", commits)
    state = open_store(url=f"sqlite:///{work / 'state.db'}")
    try:
        sources = SimpleNamespace(memory=store, state=state, backend=MemoryChats(), courses=None)
        asyncio.run(_threads(sources, courses, "student"))
        repo = work / "view-users" / "student"
        count = int(subprocess.run(["git", "-C", str(repo), "rev-list", "--count", "HEAD"], check=True,
                                   capture_output=True, text=True).stdout)
        _open_views(sources, courses, "student")  # warm imports and the page cache
        loose: list[float] = []
        for _ in range(3):  # before upkeep packed it: every object is a file of its own
            (repo / ".git" / CACHE_FILE).unlink()
            loose.append(_timed(lambda: _open_views(sources, courses, "student")))
        packed = pack(store.student("student").repo, "student")
        assert packed.status == "packed", packed
        cached: list[float] = []
        changed: list[float] = []
        cold: list[float] = []
        bare: list[float] = []
        memory = store.student("student")
        rng = random.Random(9)
        for i in range(repeat):  # interleaved, so load changes hit all alike
            cached.append(_timed(lambda: _open_views(sources, courses, "student")))
            course = rng.choice(courses)
            block, spec = next(iter(course.blocks.items()))
            memory.write_field(course, block, next(iter(spec.fields)), f"new value {i}", author="student:student")
            changed.append(_timed(lambda: _open_views(sources, courses, "student")))
            if i < max(3, repeat // 5):  # the full walk is slow: fewer samples
                (repo / ".git" / CACHE_FILE).unlink()
                cold.append(_timed(lambda: _open_views(sources, courses, "student")))
            bare.append(_timed(lambda: _bare_git_log(repo)))
    finally:
        state.close()
    base = f"bare `git log`: median {ms(statistics.median(bare))}, p99 {ms(percentile(bare, 99))}"
    what = f"3 courses, {sum(FIELDS)} fields, {count:,} commits"
    return [Row(AREA, f"open the view's data again ({what})", _summary(cached), base,
                f"{_goal(cached, VIEW_GOAL_MS)}; {repeat} opens; {RUNS_PER_TASK} runs per agent in the registry"),
            Row(AREA, f"open the view's data after one new change ({what})", _summary(changed), base,
                f"{_goal(changed, VIEW_GOAL_MS)}; what every refresh after a decision, undo or edit costs"),
            Row(AREA, f"open the view's data the first time ({what})", _summary(cold), base,
                f"no cache: the whole history walked (once per student); {len(cold)} opens"),
            Row(AREA, f"the same first time, before upkeep packed the repository ({what})", _summary(loose), "",
                f"every object loose; {len(loose)} opens")]


def _timed(fn: Any) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def _summary(samples: list[float]) -> str:
    return f"median {ms(statistics.median(samples))}, p99 {ms(percentile(samples, 99))}"


def _goal(samples: list[float], goal_ms: float) -> str:
    return f"goal < {goal_ms:.0f} ms: {'met' if statistics.median(samples) * 1000 < goal_ms else 'MISSED'}"


def _action_rows(work: Path, course: Course, sizes: tuple[int, ...], repeat: int) -> list[Row]:
    """Undo (of an approved change) and edit (typed input checked, then written), each on a random student."""
    users = work / "users"
    store = MemoryStore(users)
    template = store.student("template")
    for name, block_spec in course.blocks.items():
        template.write_field(course, name, next(iter(block_spec.fields)), "something", author="system:bench")
    snapshot = _snapshot(users / "template")
    block, field = course.tasks[0].queries[0].target.split(".")
    spec = course.field_spec(block, field)
    assert spec is not None, f"{block}.{field}"
    rows: list[Row] = []
    rng = random.Random(5)
    for size in sizes:
        _populate(users, size, snapshot)
        undo: list[float] = []
        edit: list[float] = []
        cycle: list[float] = []  # propose + approve (bench_memory's measure), the baseline of the same run
        for i in range(repeat):
            memory = store.student(f"u{rng.randrange(size)}")
            start = time.perf_counter()
            diff = memory.propose(course, agent=course.tasks[0].name, run_id=f"b{i}", block=block, field=field,
                                  operation="replace", proposed_value=f"proposed {i}", reasoning="r",
                                  confidence="high", source_query="q")
            memory.approve(diff.id, reviewer=f"student:{memory.user_id}", course=course)
            cycle.append(time.perf_counter() - start)
            start = time.perf_counter()
            memory.undo(diff.id, reviewer=f"student:{memory.user_id}", note="not right", course=course)
            undo.append(time.perf_counter() - start)
            memory = store.student(f"u{rng.randrange(size)}")
            start = time.perf_counter()
            value = parse_value(spec, f"typed by hand {i}", "the field")
            memory.write_field(course, block, field, value, author=f"student:{memory.user_id}",
                               message=f"Edit {block}.{field} by hand")
            edit.append(time.perf_counter() - start)
        for name, samples in (("undo an approved change", undo), ("edit a field", edit)):
            rows.append(Row(AREA, f"{name}, {size:,} students on disk", _summary(samples),
                            f"propose+approve (2 commits): {_summary(cycle)}",
                            f"{_goal(samples, ACTION_GOAL_MS)}; {repeat} on random students (1 commit each); "
                            f"load avg {os.getloadavg()[0]:.1f}"))
    return rows


def run(quick: bool) -> list[Row]:
    work = Path(tempfile.mkdtemp(prefix="youlab-bench-memory-view-"))
    try:
        courses = _courses(work)
        rows = _view_rows(work, courses, 10 if quick else 50, 200 if quick else HISTORY)
        rows += _action_rows(work, courses[0], (1, 100) if quick else (1, 10_000), 20 if quick else 200)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return rows
