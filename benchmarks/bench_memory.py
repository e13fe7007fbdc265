"""Student memory: propose-and-approve latency with 1, 100 and 10,000 students' repositories on disk, next to a
bare `git commit` on the same machine, and the disk one student uses; the cost of fsyncing git's objects, index
and ref (durability), and upkeep: disk after 1,000 propose+approve cycles with upkeep on next to `git gc
--aggressive` of the same repository, and how long packing one repository takes.

The students are copies (`cp -a`) of one template repository, the fastest honest way to put 10,000 real repositories
on disk; each timed operation then goes to a different, randomly chosen student, so caches help as little as they
would in production.
"""

from __future__ import annotations

import os
import random
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from youlab_core.config import Course, load_course
from youlab_core.memory import MemoryStore
from youlab_core.memory.upkeep import Upkeep, disk_bytes, loose_count, pack_files
from youlab_core.settings import Settings

from .table import Row, ms, percentile

COURSE = Path(__file__).resolve().parents[1] / "config/courses/college-essay/course.toml"
TEMPLATE = "template"


def _disk(path: Path) -> tuple[int, int]:
    """(apparent bytes, allocated bytes) of a directory tree."""
    apparent = allocated = 0
    for folder, dirs, files in os.walk(path):
        for name in [*dirs, *files]:
            st = os.lstat(os.path.join(folder, name))
            apparent += st.st_size
            allocated += st.st_blocks * 512
    return apparent, allocated


def _kib(n: float) -> str:
    return f"{n / 1024:.0f} KiB"


def _snapshot(template: Path) -> list[tuple[str, bytes | None, int]]:
    """The template repository as (relative path, content or None for a directory, mode), parents first."""
    entries: list[tuple[str, bytes | None, int]] = []
    for folder, dirs, files in os.walk(template):
        rel = os.path.relpath(folder, template)
        if rel != ".":
            entries.append((rel, None, os.stat(folder).st_mode & 0o7777))
        for name in files:
            path = os.path.join(folder, name)
            entries.append((os.path.join(rel, name) if rel != "." else name, Path(path).read_bytes(),
                            os.stat(path).st_mode & 0o7777))
    return entries


def _populate(users: Path, count: int, snapshot: list[tuple[str, bytes | None, int]]) -> None:
    """Make users/u0 .. u{count-1} exist: byte-for-byte copies of the template (like `cp -a`, 5x faster)."""
    existing = sum(1 for name in os.listdir(users) if name.startswith("u"))
    for i in range(existing, count):
        dest = users / f"u{i}"
        dest.mkdir()
        for rel, data, mode in snapshot:
            target = dest / rel
            if data is None:
                target.mkdir()
            else:
                target.write_bytes(data)
                os.chmod(target, mode)


def _cycle(store: MemoryStore, course: Course, user: str, i: int, cpu: list[float] | None = None) -> float:
    memory = store.student(user)
    start_cpu = time.process_time()
    start = time.perf_counter()
    diff = memory.propose(course, agent="progression-grader", run_id=f"bench-{i}", block="journey",
                          field="blockers", operation="replace", proposed_value=f"Blocker number {i}",
                          reasoning="benchmark", confidence="medium", source_query="What is blocking the student?")
    memory.approve(diff.id, reviewer=f"student:{user}", course=course)
    elapsed = time.perf_counter() - start
    if cpu is not None:
        cpu.append(time.process_time() - start_cpu)
    return elapsed


def _bare_git_commits(work: Path, repeat: int) -> list[float]:
    repo = work / "bare-git"
    subprocess.run(["git", "init", "-q", "--template=", str(repo)], check=True)
    env = {**os.environ, "GIT_AUTHOR_NAME": "b", "GIT_AUTHOR_EMAIL": "b@b", "GIT_COMMITTER_NAME": "b",
           "GIT_COMMITTER_EMAIL": "b@b"}
    (repo / "f.md").write_text("start\n")
    subprocess.run(["git", "-C", str(repo), "add", "f.md"], check=True, env=env)
    samples = []
    for i in range(repeat):
        (repo / "f.md").write_text(f"value {i}\n")
        start = time.perf_counter()
        subprocess.run(["git", "-C", str(repo), "commit", "-qam", f"c{i}"], check=True, env=env)
        samples.append(time.perf_counter() - start)
    return samples


def run(quick: bool) -> list[Row]:
    sizes = (1, 10, 100) if quick else (1, 100, 10_000)
    repeat = 30 if quick else 300
    course = load_course(COURSE)
    rows: list[Row] = []
    work = Path(tempfile.mkdtemp(prefix="youlab-bench-memory-"))
    try:
        users = work / "users"
        store = MemoryStore(users)
        template = store.student(TEMPLATE)
        for block, spec in course.blocks.items():  # a student who has used the course a little
            template.write_field(course, block, next(iter(spec.fields)), "something", author="system:bench")
        fresh_apparent, fresh_allocated = _disk(users / TEMPLATE)
        snapshot = _snapshot(users / TEMPLATE)

        bare = _bare_git_commits(work, repeat)
        baseline = f"bare `git commit`: median {ms(statistics.median(bare))}, p99 {ms(percentile(bare, 99))}"
        rng = random.Random(7)
        for size in sizes:
            started = time.perf_counter()
            _populate(users, size, snapshot)
            setup = time.perf_counter() - started
            for i in range(3):  # warm the imports and the template's pages
                _cycle(store, course, f"u{rng.randrange(size)}", -i)
            cpu: list[float] = []
            samples = [_cycle(store, course, f"u{rng.randrange(size)}", i, cpu) for i in range(repeat)]
            rows.append(Row(
                "memory",
                f"propose+approve, {size:,} students on disk",
                f"median {ms(statistics.median(samples))}, p99 {ms(percentile(samples, 99))}",
                baseline,
                f"{repeat} cycles on random students (2 commits); CPU median {ms(statistics.median(cpu))}; "
                f"repos created in {setup:.1f}s; load avg {os.getloadavg()[0]:.1f}",
            ))

        one = store.student("u0")
        before = _disk(users / "u0")
        for i in range(100):
            _cycle(store, course, "u0", 10_000 + i)
        after = _disk(users / "u0")
        total_apparent, total_allocated = _disk(users)
        count = len(store.user_ids())
        rows.append(Row("memory", "disk per student (new, one write per block)",
                        f"{_kib(fresh_allocated)} allocated, {_kib(fresh_apparent)} apparent",
                        f"all {count:,} repos: {_kib(total_allocated / count)} allocated on average"))
        rows.append(Row("memory", "disk per propose+approve (loose objects)",
                        f"{_kib((after[1] - before[1]) / 100)} allocated, {_kib((after[0] - before[0]) / 100)} apparent",
                        "", "until upkeep packs them; see docs/memory.md"))
        history_len = len(one.history(course, "journey"))
        slow_cpu: list[float] = []
        slow = [_cycle(store, course, "u0", 20_000 + i, slow_cpu) for i in range(min(repeat, 50))]
        rows.append(Row("memory", f"propose+approve on a student with {history_len} block commits",
                        f"median {ms(statistics.median(slow))}, p99 {ms(percentile(slow, 99))}",
                        "", f"CPU median {ms(statistics.median(slow_cpu))} (compare: no growth with history)"))
        rows.extend(_durability_rows(store, MemoryStore(users, sync=False), course, sizes[-1], repeat))
        rows.extend(_upkeep_rows(work, course, 100 if quick else 1000))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return rows


def _durability_rows(synced: MemoryStore, unsynced: MemoryStore, course: Course, size: int, repeat: int) -> list[Row]:
    """propose+approve with git's objects, index and ref fsynced (the default) and without (before issue 16),
    interleaved on the same random students so load changes hit both alike."""
    rng = random.Random(11)
    on: list[float] = []
    off: list[float] = []
    for i in range(repeat):
        on.append(_cycle(synced, course, f"u{rng.randrange(size)}", 30_000 + i))
        off.append(_cycle(unsynced, course, f"u{rng.randrange(size)}", 40_000 + i))
    cost = statistics.median(on) - statistics.median(off)
    return [Row("memory", "propose+approve, git objects/index/ref fsynced (durable)",
                f"median {ms(statistics.median(on))}, p99 {ms(percentile(on, 99))}",
                f"not fsynced: median {ms(statistics.median(off))}, p99 {ms(percentile(off, 99))}",
                f"cost of durability: {ms(cost)} per cycle (2 commits); {repeat} cycles each, interleaved")]


def _upkeep_rows(work: Path, course: Course, cycles: int) -> list[Row]:
    """One student through `cycles` propose+approve cycles with upkeep ticking every 10 cycles (as if its interval
    passed), then the same repository packed by `git gc --aggressive`. fsync off here: it changes no byte on disk."""
    settings = Settings(upkeep_interval_seconds=300)
    store = MemoryStore(work / "upkeep-users", sync=False)
    upkeep = Upkeep(store, settings)
    packing: list[float] = []
    for i in range(cycles):
        _cycle(store, course, "solo", i)
        if i % 10 == 9:
            packing.extend(r.seconds for r in upkeep.tick() if r.status == "packed")
    repo = work / "upkeep-users" / "solo"
    ours = disk_bytes(repo)
    loose, packs = loose_count(repo / ".git"), len(pack_files(repo / ".git"))
    aggressive = work / "aggressive"
    shutil.copytree(repo, aggressive, symlinks=True)
    subprocess.run(["git", "-C", str(aggressive), "gc", "-q", "--aggressive", "--prune=now"], check=True)
    best = disk_bytes(aggressive)
    unpacked = MemoryStore(work / "unpacked-users", sync=False)
    for i in range(min(cycles, 100)):
        _cycle(unpacked, course, "solo", i)
    loose_per_cycle = disk_bytes(work / "unpacked-users" / "solo") / min(cycles, 100)
    return [
        Row("memory", f"disk per student after {cycles:,} propose+approve, upkeep on",
            f"{_kib(ours)} ({ours / best:.2f}x)", f"same repo after git gc --aggressive: {_kib(best)}",
            f"{loose} loose objects, {packs} packs at the end; target within 1.5x; "
            f"without upkeep ~{_kib(loose_per_cycle * cycles)}"),
        Row("memory", "packing one student's repository (upkeep)",
            f"median {ms(statistics.median(packing))}, p99 {ms(percentile(packing, 99))}",
            f"at most {settings.upkeep_repos_per_tick} repos per tick, every {settings.upkeep_interval_seconds:.0f}s",
            f"{len(packing)} packings; threshold ~{settings.upkeep_loose_objects} loose objects, "
            f"all packs combined at {settings.upkeep_max_packs}"),
    ]
