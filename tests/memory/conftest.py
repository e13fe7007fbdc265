"""Fixtures for the memory tests: a course with every field type, a store under tmp_path with a settable clock."""

from __future__ import annotations

import subprocess
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from youlab_core.config import Course, parse_course
from youlab_core.errors import NotFound
from youlab_core.memory import MemoryStore

COURSE_TOML = """
[agent]
id = "typed-course"
name = "Typed"
models = ["tutor"]

[block.profile]
title = "About you"
field.notes = { type = "string", default = "", description = "Free text." }
field.level = { type = "int", default = 1, max = 10 }
field.score = { type = "float", default = 0.5 }
field.active = { type = "bool", default = true }
field.tags = { type = "list", default = ["first"], max = 3 }
field.seen = { type = "datetime" }
field.status = { type = "string", default = "new", options = ["new", "going", "done"] }

[block.journal]
title = "Journal"
field.entries = { type = "string", default = "" }
field.summary = { type = "string", default = "nothing yet" }

[[task]]
name = "observer"
manual = true
queries = [{ target = "profile.notes", question = "What is new?", merge = "append" }]
"""


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
