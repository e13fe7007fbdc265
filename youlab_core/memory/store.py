"""`MemoryStore`: every student's repository under one root (`<storage_root>/users/<user_id>/`)."""

from __future__ import annotations

import logging
import os
import shutil
import time
from collections.abc import Callable, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from ..config import Course
from ..errors import InvalidUserId, NotFound
from .diffs import ApprovalListener, PendingDiff
from .ids import validate_user_id
from .repo import StudentRepo
from .student import StudentMemory

if TYPE_CHECKING:
    from ..settings import Settings

log = logging.getLogger(__name__)


class CourseLookup(Protocol):
    """Anything that finds a course by id (a CourseRegistry does)."""

    def course(self, course_id: str) -> Course: ...


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class MemoryStore:
    """Students' memories under `users_root`. Cheap to create; holds no open files between calls.

    `courses` lets `approve` find a diff's course when the caller does not pass it; `clock` is for tests; `sync=False`
    leaves git's objects, index and ref unsynced (today's speed, no power-cut guarantee: benchmarks, throwaway data)."""

    def __init__(
        self,
        users_root: Path,
        *,
        expiry_days: int = 30,
        listeners: Sequence[ApprovalListener] = (),
        courses: CourseLookup | None = None,
        clock: Callable[[], datetime] = utcnow,
        sync: bool = True,
    ):
        if expiry_days <= 0:
            raise ValueError("expiry_days must be positive")
        self.users_root = Path(users_root)
        self.expiry_days = expiry_days
        self.listeners: list[ApprovalListener] = list(listeners)
        self.courses = courses
        self.clock = clock
        self.sync = sync

    @classmethod
    def from_settings(
        cls, settings: Settings, *, listeners: Sequence[ApprovalListener] = (), courses: CourseLookup | None = None
    ) -> MemoryStore:
        return cls(settings.users_root, expiry_days=settings.diff_expiry_days, listeners=listeners, courses=courses,
                   sync=settings.memory_fsync)

    def add_listener(self, listener: ApprovalListener) -> None:
        self.listeners.append(listener)

    def student(self, user_id: str) -> StudentMemory:
        """One student's memory (raises InvalidUserId for an id that could leave the root). The repository is
        created on the first write; reading a student without one gives the course defaults."""
        user_id = validate_user_id(user_id)
        path = self.users_root / user_id
        if path.resolve().parent != self.users_root.resolve():  # defence in depth: symlinks, odd filesystems
            raise InvalidUserId(f"student id {user_id!r} resolves outside the storage root")
        return StudentMemory(self, user_id, StudentRepo(path, sync=self.sync))

    def user_ids(self) -> list[str]:
        """Students that have a repository on disk."""
        try:
            names = os.listdir(self.users_root)
        except FileNotFoundError:
            return []
        return sorted(n for n in names if not n.startswith(".") and (self.users_root / n / ".git" / "HEAD").is_file())

    def resolve_course(self, course_id: str, course: Course | None) -> Course:
        if course is not None:
            if course.id != course_id:
                raise NotFound(f"this diff belongs to course {course_id!r}, not {course.id!r}")
            return course
        if self.courses is None:
            raise NotFound(f"course {course_id!r}: pass course= (this MemoryStore was built without a course lookup)")
        return self.courses.course(course_id)

    def notify_approved(self, user_id: str, course: Course, diff: PendingDiff) -> None:
        """Tell each listener; a failing listener is logged and never undoes the approval."""
        for listener in self.listeners:
            try:
                listener.on_approved(user_id, course, diff)
            except Exception:
                log.exception("approval listener %r failed for diff %s of %s", listener, diff.id, user_id)

    def clean_staging(self, older_than_seconds: float = 3600) -> int:
        """Remove repositories left half-built by a process that died while creating one."""
        removed = 0
        for entry in self.users_root.glob(".tmp-*"):
            if time.time() - entry.stat().st_mtime > older_than_seconds:
                shutil.rmtree(entry, ignore_errors=True)
                removed += 1
        return removed
