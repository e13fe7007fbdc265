"""The memory view's last-change column (youlab_core/bundle/memory_last_change.py): the same answer as the field
history (`StudentMemory.history`) gives, cached by HEAD in the git directory, walked again only from the cached
HEAD after new commits, and rebuilt whole when the cache is damaged or lacks a field."""

from __future__ import annotations

import json
import random
import subprocess
from pathlib import Path
from typing import Any

import pytest

from youlab_core.bundle import memory_last_change
from youlab_core.bundle.memory_last_change import CACHE_FILE, last_changes
from youlab_core.config import Course, load_course
from youlab_core.memory import MemoryStore

COURSE = load_course(Path("config/courses/college-essay/course.toml"))


def from_history(memory: Any, course: Course) -> dict[tuple[str, str], str]:
    """(block, field) -> commit id, the slow way the view used to compute it."""
    found: dict[tuple[str, str], str] = {}
    for block in course.blocks:
        for entry in memory.history(course, block):
            for name in entry.fields:
                found.setdefault((block, name), entry.version)
    return found


def versions(memory: Any) -> dict[tuple[str, str], str]:
    return {k: v.version for k, v in last_changes(memory, COURSE).items()}


def git_calls(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    calls: list[list[str]] = []
    real = subprocess.run

    def recording(args: list[str], **kwargs: Any) -> Any:
        calls.append(list(args))
        return real(args, **kwargs)
    monkeypatch.setattr(memory_last_change.subprocess, "run", recording)
    return calls


def test_it_agrees_with_the_field_history_and_leaves_out_fields_never_changed(tmp_path: Path) -> None:
    memory = MemoryStore(tmp_path).student("stu")
    assert last_changes(memory, COURSE) == {}  # no repository yet
    rng = random.Random(1)
    fields = [("journey", "grader_notes"), ("journey", "blockers"), ("student", "insights"), ("journey", "status")]
    for i in range(40):
        block, field = rng.choice(fields)
        value = rng.choice(["not_started", "in_progress"]) if field == "status" else f"value {i % 7}"
        memory.write_field(COURSE, block, field, value, author=rng.choice(["agent:progression-grader", "student:stu"]))
    memory.write_field(COURSE, "journey", "module_id", "01-self-discovery", author="student:stu")  # its default
    found = last_changes(memory, COURSE)
    assert {k: v.version for k, v in found.items()} == from_history(memory, COURSE)
    assert ("journey", "module_id") not in found and ("engagement_strategy", "approach") not in found
    latest = found[("journey", "grader_notes")]
    assert latest.author in ("agent:progression-grader", "student:stu") and latest.at.tzinfo is not None


def test_a_current_cache_runs_no_git_and_new_commits_are_walked_from_it(tmp_path: Path,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    memory = MemoryStore(tmp_path).student("stu")
    memory.write_field(COURSE, "journey", "blockers", "Time.", author="student:stu")
    first = versions(memory)
    cache = json.loads((memory.repo.git_dir / CACHE_FILE).read_text())
    assert cache["courses"][COURSE.id]["head"] == memory.repo.head_sha()
    calls = git_calls(monkeypatch)
    assert versions(memory) == first and calls == []
    old_head = memory.repo.head_sha()
    memory.write_field(COURSE, "journey", "grader_notes", "Good.", author="agent:progression-grader")
    now = versions(memory)
    assert now == from_history(memory, COURSE) and now[("journey", "blockers")] == first[("journey", "blockers")]
    assert any(f"{old_head}..{memory.repo.head_sha()}" in call for call in calls), calls


@pytest.mark.parametrize("damage", ["not json", json.dumps({"version": 1, "courses": {"college-essay": {
    "head": "0" * 40, "fields": {"journey.blockers": None}}}})])
def test_a_damaged_or_partial_cache_is_rebuilt(tmp_path: Path, damage: str) -> None:
    memory = MemoryStore(tmp_path).student("stu")
    memory.write_field(COURSE, "journey", "blockers", "Time.", author="student:stu")
    memory.write_field(COURSE, "student", "insights", "Likes radio.", author="student:stu")
    (memory.repo.git_dir / CACHE_FILE).write_text(damage)
    assert versions(memory) == from_history(memory, COURSE)


def test_a_cached_head_that_is_not_an_ancestor_is_walked_whole(tmp_path: Path) -> None:
    memory = MemoryStore(tmp_path).student("stu")
    memory.write_field(COURSE, "journey", "blockers", "Time.", author="student:stu")
    wrong = {"version": 1, "courses": {COURSE.id: {"head": "1" * 40, "fields": {
        f"{b}.{f}": None for b, spec in COURSE.blocks.items() for f in spec.fields}}}}
    (memory.repo.git_dir / CACHE_FILE).write_text(json.dumps(wrong))
    assert versions(memory) == from_history(memory, COURSE)


def test_a_cached_head_off_the_current_history_is_walked_whole(tmp_path: Path) -> None:
    """A commit that exists but is not an ancestor of HEAD (history is never rewritten; if it were, the cache
    must not be trusted)."""
    memory = MemoryStore(tmp_path).student("stu")
    memory.write_field(COURSE, "journey", "blockers", "Time.", author="student:stu")
    versions(memory)
    repo = memory.repo.path
    head = memory.repo.head_sha()
    side = subprocess.run(["git", "-C", str(repo), "commit-tree", "-p", str(head), "-m", "side", f"{head}^{{tree}}"],
                          check=True, capture_output=True, text=True).stdout.strip()  # HEAD's child, not HEAD's past
    cache = json.loads((memory.repo.git_dir / CACHE_FILE).read_text())
    cache["courses"][COURSE.id]["head"] = side
    cache["courses"][COURSE.id]["fields"]["journey.blockers"] = None  # what a wrong cache would keep
    (memory.repo.git_dir / CACHE_FILE).write_text(json.dumps(cache))
    memory.write_field(COURSE, "student", "insights", "Likes radio.", author="student:stu")
    assert versions(memory) == from_history(memory, COURSE)
