"""Fixtures for the memory tests: a course with every field type, a store under tmp_path with a settable clock."""

from __future__ import annotations

import subprocess
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from youlab_core.config import Course, parse_course
from youlab_core.errors import NotFound
from youlab_core.memory import MemoryStore
from tests.support.courses import block, course_toml, query, task

TYPED_FIELDS: dict[str, dict[str, Any]] = {
    "notes": {"type": "string", "default": "", "description": "Free text."},
    "level": {"type": "int", "default": 1, "max": 10},
    "score": {"type": "float", "default": 0.5},
    "active": {"type": "bool", "default": True},
    "tags": {"type": "list", "default": ["first"], "max": 3},
    "seen": {"type": "datetime"},
    "status": {"type": "string", "default": "new", "options": ["new", "going", "done"]},
}
JOURNAL_FIELDS: dict[str, dict[str, Any]] = {
    "entries": {"type": "string", "default": ""},
    "summary": {"type": "string", "default": "nothing yet"},
}


def typed_course_toml(course_id: str = "typed-course", journal: dict[str, dict[str, Any]] = JOURNAL_FIELDS) -> str:
    """The typed course; other ids and journal fields for the tests of namespacing and of a course that grows."""
    return course_toml(
        course_id, name="Typed", models=["tutor"],
        blocks={"profile": block(TYPED_FIELDS, title="About you"), "journal": block(journal, title="Journal")},
        tasks=[task("observer", queries=[query("profile.notes", "What is new?", merge="append")])],
    )


COURSE_TOML = typed_course_toml()


class FakeClock:
    def __init__(self, start: datetime = datetime(2026, 3, 1, 12, 0, tzinfo=timezone.utc)):
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kwargs: float) -> None:
        self.now += timedelta(**kwargs)


@pytest.fixture
def course() -> Course:
    return parse_course(COURSE_TOML, "typed-course/course.toml")


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


class Courses:
    """A course lookup like CourseRegistry.course, over the given courses."""

    def __init__(self, *courses: Course):
        self._courses = {c.id: c for c in courses}

    def course(self, course_id: str) -> Course:
        if course_id not in self._courses:
            raise NotFound(f"no course {course_id!r}")
        return self._courses[course_id]


@pytest.fixture
def store(tmp_path: Path, clock: FakeClock, course: Course) -> MemoryStore:
    return MemoryStore(tmp_path / "users", clock=clock, courses=Courses(course))


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, text=True).stdout


def assert_fsck_clean(repo: Path) -> None:
    result = subprocess.run(["git", "-C", str(repo), "fsck", "--strict", "--full"], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "error" not in result.stderr.lower() and "dangling" not in result.stdout, result.stdout + result.stderr


def assert_clean_worktree(repo: Path) -> None:
    assert git(repo, "status", "--porcelain", "--untracked-files=all") == ""
