"""Several processes proposing and approving on one student at once lose nothing."""

from __future__ import annotations

import os
import threading
from pathlib import Path

from youlab_core.config import Course
from youlab_core.memory import DiffStatus, MemoryStore

from .conftest import Courses, assert_clean_worktree, assert_fsck_clean, git
from .test_crash import spawn

PROCESSES = 4
ROUNDS = 8


def test_concurrent_read_modify_approve_from_processes_loses_no_update(tmp_path: Path, course: Course) -> None:
    root = tmp_path / "users"
    procs = [spawn(str(root), "append", f"p{n}", str(ROUNDS)) for n in range(PROCESSES)]
    for proc in procs:
        _, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err.decode()
    store = MemoryStore(root, courses=Courses(course))
    memory = store.student("s1")
    lines = memory.read_field(course, "journal", "entries").split("\n")
    expected = {f"p{n}-{i}" for n in range(PROCESSES) for i in range(ROUNDS)}
    assert sorted(lines) == sorted(expected)  # every line once: no lost update, no duplicate
    for n in range(PROCESSES):  # each process's lines in its own order
        mine = [line for line in lines if line.startswith(f"p{n}-")]
        assert mine == [f"p{n}-{i}" for i in range(ROUNDS)]
    diffs = memory.list_diffs()
    approved = [d for d in diffs if d.status is DiffStatus.approved]
    assert len(approved) == PROCESSES * ROUNDS
    assert all(d.status in (DiffStatus.approved, DiffStatus.stale, DiffStatus.superseded) for d in diffs)
    # The creation, one commit per proposal, per approval (which also supersedes) and per diff marked stale:
    # nothing was squashed or lost.
    stale = [d for d in diffs if d.status is DiffStatus.stale]
    assert int(git(root / "s1", "rev-list", "--count", "HEAD")) == 1 + len(diffs) + len(approved) + len(stale)
    assert_clean_worktree(root / "s1")
    assert_fsck_clean(root / "s1")


def test_threads_of_one_process_are_serialised_too(store: MemoryStore, course: Course) -> None:
    memory = store.student("s1")
    errors: list[BaseException] = []
    cwd = os.getcwd()  # GitPython's IndexFile.add(paths) chdirs; the store must never do that to other threads

    def work(n: int) -> None:
        try:
            for i in range(5):
                diff = memory.propose(course, agent=f"t{n}", run_id=str(i), block="profile", field="level",
                                      operation="replace", proposed_value=n, reasoning="", confidence="low",
                                      source_query="")
                assert memory.get_diff(diff.id).status in (DiffStatus.pending, DiffStatus.superseded)
                assert os.getcwd() == cwd
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert memory.counts()["total"] == 20
    assert int(git(store.users_root / "s1", "rev-list", "--count", "HEAD")) == 21
    assert_fsck_clean(store.users_root / "s1")


def test_first_use_from_many_processes_creates_one_repository(tmp_path: Path, course: Course) -> None:
    root = tmp_path / "users"
    procs = [spawn(str(root), "append", f"p{n}", "1") for n in range(PROCESSES)]
    for proc in procs:
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err.decode()
    assert sorted(p.name for p in root.iterdir()) == ["s1"]  # no staging directory left behind
    assert git(root / "s1", "log", "--format=%s").count("Create this student's memory") == 1


def test_many_threads_creating_different_students_keep_each_repository_its_own(
    tmp_path: Path, course: Course
) -> None:
    # GitPython's IndexFile.add(paths) chdirs the whole process: with threads, one student's files could be staged
    # into another's repository. The store stages blobs itself; every repository must hold exactly its own files.
    store = MemoryStore(tmp_path / "users", courses=Courses(course))
    cwd = os.getcwd()
    errors: list[BaseException] = []

    def work(n: int) -> None:
        try:
            memory = store.student(f"t{n}")
            memory.write_field(course, "journal", "entries", f"student {n}", author=f"student:t{n}")
            diff = memory.propose(course, agent="a", run_id="r", block="journal", field="summary",
                                  operation="replace", proposed_value=f"summary {n}", reasoning="",
                                  confidence="low", source_query="")
            memory.approve(diff.id, reviewer=f"student:t{n}")
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == [] and os.getcwd() == cwd
    for n in range(16):
        repo = tmp_path / "users" / f"t{n}"
        assert_clean_worktree(repo)
        assert git(repo, "show", "HEAD:.gitignore") == "*.tmp\n"
        assert store.student(f"t{n}").read_block(course, "journal").values == {
            "entries": f"student {n}", "summary": f"summary {n}"}
