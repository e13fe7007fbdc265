"""A separate process that works on a student's memory, for the crash and concurrency tests.

python -m tests.memory.worker ROOT crash POINT DIFF_ID READY_FILE   # approve DIFF_ID, freeze at POINT (then SIGKILLed)
python -m tests.memory.worker ROOT churn LOG_FILE                    # propose/approve/reject forever (SIGKILLed)
python -m tests.memory.worker ROOT append NAME ROUNDS                 # append NAME-i lines to journal.entries
"""

from __future__ import annotations

import os
import random
import sys
import time
from pathlib import Path

from youlab_core.config import Course, parse_course
from youlab_core.errors import StaleDiff
from youlab_core.memory import DiffClosed, MemoryStore
from youlab_core.memory import repo as repo_module

from .conftest import COURSE_TOML, Courses

USER = "s1"


def freeze(ready: Path) -> None:
    ready.write_text(str(os.getpid()))
    time.sleep(120)  # the test kills us here
    raise SystemExit("not killed")


def install_crash_point(point: str, ready: Path) -> None:
    """Stop the process at one moment of an approval (the journal step numbers in repo.py)."""
    original_write = repo_module.atomic_write
    original_apply = repo_module.StudentRepo._apply
    writes = {"n": 0}

    def atomic_write(path: Path, data: bytes, **kwargs: bool) -> None:
        writes["n"] += 1
        if point == "mid-journal" and writes["n"] == 1:
            tmp = path.with_name(f".{path.name}.dead.tmp")
            tmp.write_bytes(data[: len(data) // 2])  # half a journal, never renamed
            freeze(ready)
        if point == "mid-file" and writes["n"] == 2:
            tmp = path.with_name(f".{path.name}.dead.tmp")
            tmp.write_bytes(data[: len(data) // 2])  # half a block file, never renamed
            freeze(ready)
        original_write(path, data, **kwargs)
        if point == "after-first-file" and writes["n"] == 2:
            freeze(ready)

    def apply(self: repo_module.StudentRepo, journal: dict, *, replay: bool = False) -> str:
        if point == "after-journal":
            freeze(ready)
        sha = original_apply(self, journal, replay=replay)
        if point == "after-commit":
            freeze(ready)
        return sha

    repo_module.atomic_write = atomic_write  # type: ignore[assignment]
    repo_module.StudentRepo._apply = apply  # type: ignore[method-assign]
    if point == "before-commit":
        from git import Commit

        def create_from_tree(*args: object, **kwargs: object) -> None:
            freeze(ready)

        Commit.create_from_tree = create_from_tree  # type: ignore[method-assign,assignment]
    if point == "before-object-sync":
        repo_module.sync_objects = lambda db: freeze(ready)  # type: ignore[assignment]
    if point in ("mid-ref", "after-ref"):
        original_ref = repo_module.write_ref

        def write_ref(git_dir: Path, ref: str, hexsha: str, *, sync: bool) -> None:
            if point == "mid-ref":
                (git_dir / f"{ref}.lock").write_text(hexsha[:20])  # half a ref lock, never renamed
                freeze(ready)
            original_ref(git_dir, ref, hexsha, sync=sync)
            freeze(ready)

        repo_module.write_ref = write_ref  # type: ignore[assignment]
    if point == "mid-index-write":
        import git.index.base

        def write(self: object, *args: object, **kwargs: object) -> None:
            (Path(self.repo.git_dir) / "index.lock").write_bytes(b"DIRC partial")  # type: ignore[attr-defined]
            freeze(ready)

        git.index.base.IndexFile.write = write  # type: ignore[method-assign]


def store(root: str) -> tuple[MemoryStore, Course]:
    course = parse_course(COURSE_TOML, "typed-course/course.toml")
    return MemoryStore(Path(root), courses=Courses(course)), course


def crash(root: str, point: str, diff_id: str, ready: str) -> None:
    memory_store, _ = store(root)
    install_crash_point(point, Path(ready))
    memory_store.student(USER).approve(diff_id, reviewer="student:s1")
    raise SystemExit("the crash point was never reached")


def churn(root: str, log: str) -> None:
    """Propose and decide as fast as possible, logging each proposal id once it is committed."""
    memory_store, course = store(root)
    memory = memory_store.student(USER)
    fields = [("profile", "notes"), ("profile", "level"), ("journal", "entries"), ("journal", "summary")]
    rng = random.Random(os.getpid())
    with open(log, "a") as out:
        for i in range(10**9):
            block, field = rng.choice(fields)
            value = i % 10 if field == "level" else f"value {os.getpid()}-{i}"
            diff = memory.propose(course, agent="churn", run_id=str(i), block=block, field=field, operation="replace",
                                  proposed_value=value, reasoning="", confidence="low", source_query="")
            out.write(diff.id + "\n")
            out.flush()
            pending = memory.list_diffs(status="pending")
            if pending:
                target = rng.choice(pending)
                try:
                    if rng.random() < 0.7:
                        memory.approve(target.id, reviewer="student:s1")
                    else:
                        memory.reject(target.id, reviewer="student:s1")
                except (StaleDiff, DiffClosed):
                    pass


def append(root: str, name: str, rounds: str) -> None:
    """Add lines to journal.entries through propose(based_on=...) + approve, retrying on conflicts: at the end every
    line of every process must be there exactly once (no lost update)."""
    memory_store, course = store(root)
    memory = memory_store.student(USER)
    for i in range(int(rounds)):
        line = f"{name}-{i}"
        while True:
            current = memory.read_field(course, "journal", "entries")
            try:
                diff = memory.propose(course, agent=name, run_id=str(i), block="journal", field="entries",
                                      operation="append", proposed_value=(current + "\n" + line).lstrip("\n"),
                                      reasoning="", confidence="high", source_query="", based_on=current)
                memory.approve(diff.id, reviewer="student:s1")
                break
            except (StaleDiff, DiffClosed):
                continue


if __name__ == "__main__":
    root, command, *args = sys.argv[1:]
    {"crash": crash, "churn": churn, "append": append}[command](root, *args)
