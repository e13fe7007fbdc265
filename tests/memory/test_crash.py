"""A process SIGKILLed in the middle of an approval: the next open finishes or discards it, never half of it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from youlab_core.config import Course
from youlab_core.memory import DiffStatus, MemoryStore, StudentMemory
from youlab_core.memory.diffs import PENDING_INDEX, parse_index
from youlab_core.memory.repo import JOURNAL_FILE

from .conftest import Courses, assert_clean_worktree, assert_fsck_clean, git

PROJECT = Path(__file__).resolve().parents[2]


def spawn(*args: str) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(PROJECT)}
    return subprocess.Popen([sys.executable, "-m", "tests.memory.worker", *args], cwd=PROJECT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def wait_for(path: Path, proc: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        if proc.poll() is not None:
            raise AssertionError(f"worker exited early: {proc.stderr.read().decode()}")  # type: ignore[union-attr]
        assert time.monotonic() < deadline, "worker never reached the crash point"
        time.sleep(0.02)


def kill(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL


def check_consistent(memory: StudentMemory, repo: Path) -> None:
    """Every invariant a reader relies on: clean tree, fsck, index == pending files, no leftovers."""
    memory.list_diffs()  # any locked call repairs first
    assert not (repo / ".git" / JOURNAL_FILE).exists()
    assert not list(repo.rglob("*.tmp")), list(repo.rglob("*.tmp"))
    assert not [p for p in (repo / ".git").rglob("*.lock") if p.name != "youlab.lock"]
    assert_clean_worktree(repo)
    assert_fsck_clean(repo)
    index_file = repo / PENDING_INDEX
    index = parse_index(index_file.read_text() if index_file.exists() else None)
    pending = {d.id for d in memory.list_diffs() if d.status is DiffStatus.pending}
    assert set(index) == pending
    tracked = set(git(repo, "ls-files", "pending_diffs").split())
    assert {t for t in tracked if not t.startswith("pending_diffs/archive/")} == {
        f"pending_diffs/{i}.json" for i in pending
    }
    archived = [line for t in tracked if t.startswith("pending_diffs/archive/")
                for line in (repo / t).read_text().splitlines()]
    all_ids = [d.id for d in memory.list_diffs()]
    assert len(all_ids) == len(set(all_ids)) == len(pending) + len(archived)  # each diff in exactly one place


POINTS_THAT_COMMIT = ["after-journal", "after-first-file", "mid-file", "mid-index-write", "before-commit",
                      "before-object-sync", "mid-ref", "after-ref", "after-commit"]


@pytest.mark.parametrize("point", ["mid-journal", *POINTS_THAT_COMMIT])
def test_sigkill_during_an_approval_is_repaired_on_the_next_open(
    point: str, tmp_path: Path, course: Course
) -> None:
    store = MemoryStore(tmp_path / "users", courses=Courses(course))
    memory = store.student("s1")
    memory.write_field(course, "profile", "tags", ["kept"], author="student:s1")
    common = dict(agent="observer", run_id="r", block="profile", operation="replace", reasoning="",
                  confidence="high", source_query="")
    target = memory.propose(course, field="notes", proposed_value="approved text", **common)
    rival = memory.propose(course, field="notes", proposed_value="rival text", **common)
    other = memory.propose(course, field="level", proposed_value=4, **common)
    repo = store.users_root / "s1"
    commits_before = int(git(repo, "rev-list", "--count", "HEAD"))

    ready = tmp_path / "ready"
    proc = spawn(str(store.users_root), "crash", point, target.id, str(ready))
    wait_for(ready, proc)
    kill(proc)

    reopened = MemoryStore(tmp_path / "users", courses=Courses(course)).student("s1")
    check_consistent(reopened, repo)
    statuses = {d.id: d.status for d in reopened.list_diffs()}
    assert set(statuses) == {target.id, rival.id, other.id}  # no diff lost
    assert statuses[other.id] is DiffStatus.pending
    values = reopened.read_block(course, "profile").values
    assert values["tags"] == ["kept"] and values["level"] == 1
    commits_after = int(git(repo, "rev-list", "--count", "HEAD"))
    if point == "mid-journal":  # nothing had been decided yet: rolled back
        assert statuses[target.id] is statuses[rival.id] is DiffStatus.pending
        assert values["notes"] == ""
        assert commits_after == commits_before
        assert reopened.approve(target.id, reviewer="student:s1").status is DiffStatus.approved
    else:  # the journal was complete: rolled forward, as one commit
        assert statuses[target.id] is DiffStatus.approved and statuses[rival.id] is DiffStatus.superseded
        assert values["notes"] == "approved text"
        assert commits_after == commits_before + 1
        assert reopened.get_diff(target.id).applied_commit == git(repo, "rev-parse", "HEAD").strip()
        assert f"Approve {target.id}" in git(repo, "log", "-1", "--format=%s")
    check_consistent(reopened, repo)


def test_repeated_random_sigkills_of_a_busy_writer_lose_nothing(tmp_path: Path, course: Course) -> None:
    store = MemoryStore(tmp_path / "users", courses=Courses(course))
    memory = store.student("s1")
    memory.write_field(course, "profile", "notes", "start", author="student:s1")
    repo = store.users_root / "s1"
    log = tmp_path / "proposed.log"
    rng_delays = [0.0, 0.05, 0.13, 0.21, 0.3, 0.02]
    for delay in rng_delays:
        logged = len(log.read_text().split()) if log.exists() else 0
        proc = spawn(str(store.users_root), "churn", str(log))
        deadline = time.monotonic() + 60
        while (len(log.read_text().split()) if log.exists() else 0) <= logged:  # it is working (imports are slow)
            assert proc.poll() is None, proc.stderr.read().decode()  # type: ignore[union-attr]
            assert time.monotonic() < deadline, "the worker never proposed anything"
            time.sleep(0.01)
        time.sleep(delay)  # then kill it at some moment of its propose/approve/reject loop
        kill(proc)
        check_consistent(store.student("s1"), repo)
    proposed = log.read_text().split()
    assert len(proposed) >= len(rng_delays)
    on_disk = {d.id for d in memory.list_diffs()}
    assert set(proposed) <= on_disk  # every proposal that returned is still there (at most one more, unlogged)
    assert len(on_disk - set(proposed)) <= len(rng_delays)


@pytest.mark.parametrize("lock", ["index.lock", "HEAD.lock", "refs/heads/main.lock", "logs/HEAD.lock",
                                  "logs/refs/heads/main.lock"])
def test_stale_git_locks_of_a_killed_writer_are_cleared(tmp_path: Path, course: Course, lock: str) -> None:
    # A writer killed while git updated a ref leaves git's lock files behind (seen in CI: the reflog's lock);
    # under the student's lock nobody else can hold them, so the next operation clears them and goes on.
    store = MemoryStore(tmp_path / "users", courses=Courses(course))
    memory = store.student("s1")
    memory.write_field(course, "profile", "notes", "start", author="student:s1")
    repo = store.users_root / "s1"
    stale = repo / ".git" / lock
    stale.parent.mkdir(parents=True, exist_ok=True)
    stale.write_text("")
    memory.write_field(course, "profile", "notes", "after", author="student:s1")
    assert not stale.exists()
    assert store.student("s1").read_field(course, "profile", "notes") == "after"
    check_consistent(store.student("s1"), repo)
