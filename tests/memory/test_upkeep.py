"""Upkeep packs a repository once it is due, never a busy one, at most N per tick, and changes no history."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from youlab_core.config import Course
from youlab_core.memory import MemoryStore
from youlab_core.memory.repo import JOURNAL_FILE, StudentRepo
from youlab_core.memory.upkeep import Upkeep, loose_count, loose_estimate, pack, pack_files, verify
from youlab_core.settings import Settings

from .conftest import assert_fsck_clean, git


def settings(**overrides: Any) -> Settings:
    values: dict[str, Any] = {"upkeep_loose_objects": 64, "upkeep_repos_per_tick": 20, "upkeep_max_packs": 8,
                                 "upkeep_interval_seconds": 300.0}
    return Settings(**{**values, **overrides})


def busy_student(store: MemoryStore, course: Course, user: str = "s0", commits: int = 40) -> None:
    """A student with `commits` commits (about 5 new loose objects each)."""
    memory = store.student(user)
    for i in range(commits):
        memory.write_field(course, "journal", "entries", f"line {i}", author=f"student:{user}")


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from youlab_core.config import parse_course

    from .conftest import COURSE_TOML

    root = tmp_path_factory.mktemp("upkeep") / "users"
    busy_student(MemoryStore(root, sync=False), parse_course(COURSE_TOML, "typed-course/course.toml"))
    return root / "s0"


def students(template: Path, users: Path, count: int) -> MemoryStore:
    for i in range(count):
        shutil.copytree(template, users / f"s{i}", symlinks=True)
    return MemoryStore(users)


def test_the_loose_object_estimate_samples_folders_like_git_gc_auto(tmp_path: Path) -> None:
    objects = tmp_path / ".git" / "objects"
    for folder in range(256):  # 3 objects in every folder: 768 in all
        (objects / f"{folder:02x}").mkdir(parents=True)
        for i in range(3):
            (objects / f"{folder:02x}" / f"{i:038x}").write_bytes(b"x")
    (objects / "00" / "not-an-object.tmp").write_bytes(b"")
    assert loose_estimate(tmp_path / ".git") == 768
    assert loose_count(tmp_path / ".git") == 768


def test_a_repository_below_the_threshold_is_left_loose_and_one_above_is_packed(
    tmp_path: Path, template: Path
) -> None:
    store = students(template, tmp_path / "users", 1)
    repo = store.student("s0").repo
    loose = loose_count(repo.git_dir)
    assert loose > 150
    assert Upkeep(store, settings(upkeep_loose_objects=100_000)).tick() == []
    assert loose_count(repo.git_dir) == loose and pack_files(repo.git_dir) == []

    reports = Upkeep(store, settings(upkeep_loose_objects=64)).tick()
    assert [(r.user_id, r.status) for r in reports] == [("s0", "packed")]
    assert reports[0].bytes_after < reports[0].bytes_before / 3
    assert loose_count(repo.git_dir) == 0 and len(pack_files(repo.git_dir)) == 1
    assert_fsck_clean(repo.path)


def test_a_repository_whose_lock_is_held_is_skipped(tmp_path: Path, template: Path) -> None:
    store = students(template, tmp_path / "users", 1)
    repo = store.student("s0").repo
    loose = loose_count(repo.git_dir)
    with repo.locked(exclusive=False):  # a student reading: upkeep must not wait, nor pack under them
        reports = Upkeep(store, settings()).tick()
    assert [(r.user_id, r.status) for r in reports] == [("s0", "busy")]
    assert loose_count(repo.git_dir) == loose and pack_files(repo.git_dir) == []
    assert [r.status for r in Upkeep(store, settings()).tick()] == ["packed"]  # free again: packed next time


def test_a_tick_packs_at_most_n_repositories_and_the_next_tick_goes_on(tmp_path: Path, template: Path) -> None:
    store = students(template, tmp_path / "users", 5)
    upkeep = Upkeep(store, settings(upkeep_repos_per_tick=2))
    ticks = [[r.user_id for r in upkeep.tick() if r.status == "packed"] for _ in range(4)]
    assert ticks == [["s0", "s1"], ["s2", "s3"], ["s4"], []]


def test_packing_keeps_every_commit_and_value(tmp_path: Path, template: Path, course: Course) -> None:
    store = students(template, tmp_path / "users", 1)
    memory = store.student("s0")
    log_before = git(memory.repo.path, "log", "--format=%H %T %an %s")
    history = memory.history(course, "journal")
    values = [memory.read_at(course, "journal", h.version).values for h in history]
    assert pack(memory.repo, "s0", force=True).status == "packed"
    assert git(memory.repo.path, "log", "--format=%H %T %an %s") == log_before
    again = store.student("s0")
    assert again.history(course, "journal") == history
    assert [again.read_at(course, "journal", h.version).values for h in history] == values
    assert verify(again.repo) == ""
    again.write_field(course, "journal", "entries", "after packing", author="student:s0")  # writes go on
    assert again.read_field(course, "journal", "entries") == "after packing"
    assert_fsck_clean(again.repo.path)


def test_too_many_packs_are_combined_into_one(tmp_path: Path, template: Path, course: Course) -> None:
    store = students(template, tmp_path / "users", 1)
    memory = store.student("s0")
    objects_before = git(memory.repo.path, "rev-list", "--objects", "--all")
    for round_ in range(3):  # three incremental packs
        memory.write_field(course, "journal", "summary", f"round {round_}", author="student:s0")
        assert pack(memory.repo, "s0", threshold=0, max_packs=100).status == "packed"  # 0: whatever is loose
    assert len(pack_files(memory.repo.git_dir)) == 3
    assert pack(memory.repo, "s0", threshold=100_000, max_packs=3).status == "packed"  # due for its pack count
    assert len(pack_files(memory.repo.git_dir)) == 1
    assert set(objects_before.splitlines()) <= set(git(memory.repo.path, "rev-list", "--objects", "--all").splitlines())
    assert_fsck_clean(memory.repo.path)


def test_packing_finishes_a_pending_repair_first_and_prunes_no_unreachable_object(
    tmp_path: Path, template: Path, course: Course, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = students(template, tmp_path / "users", 1)
    memory = store.student("s0")
    repo = memory.repo
    dangling = subprocess.run(["git", "-C", str(repo.path), "hash-object", "-w", "--stdin"], input="kept\n",
                              capture_output=True, text=True, check=True).stdout.strip()

    class Interrupted(BaseException):
        pass

    def interrupted(*args: object, **kwargs: object) -> None:
        raise Interrupted  # a writer stopped after its objects, before its ref: the journal stays

    monkeypatch.setattr("youlab_core.memory.repo.write_ref", interrupted)
    with pytest.raises(Interrupted):
        memory.write_field(course, "journal", "summary", "in the journal", author="student:s0")
    monkeypatch.undo()
    assert (repo.git_dir / JOURNAL_FILE).exists()

    assert pack(StudentRepo(repo.path), "s0", force=True).status == "packed"
    assert not (repo.git_dir / JOURNAL_FILE).exists()
    assert store.student("s0").read_field(course, "journal", "summary") == "in the journal"
    git(repo.path, "cat-file", "-e", dangling)  # raises if it was pruned
    assert verify(repo) == ""  # (fsck without --no-dangling would name the dangling blob, kept on purpose)


def test_upkeep_runs_in_the_background_until_stopped(tmp_path: Path, template: Path) -> None:
    store = students(template, tmp_path / "users", 1)

    async def run() -> None:
        upkeep = Upkeep(store, settings(upkeep_interval_seconds=0.05))
        upkeep.start()
        for _ in range(400):
            if pack_files(store.student("s0").repo.git_dir):
                break
            await asyncio.sleep(0.05)
        await upkeep.stop()

    asyncio.run(run())
    assert len(pack_files(store.student("s0").repo.git_dir)) == 1
