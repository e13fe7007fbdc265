"""Reading course files from disk, and the registry that keeps the last good version of each."""

from __future__ import annotations

import hashlib
import logging
import threading
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import ConfigError, ConfigIssue, NotFound
from .schema import Course, TaskSpec
from .validate import validate_course

log = logging.getLogger(__name__)

COURSE_FILE = "course.toml"


def parse_course(text: str, file: str) -> Course:
    """Parse and validate one course document. Raises ConfigError listing every problem."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError([ConfigIssue(file, "", f"not valid TOML: {exc}")]) from None
    course, issues = validate_course(raw, file)
    if course is None:
        raise ConfigError(issues)
    return course


def load_course(path: str | Path) -> Course:
    """Load one course file. Raises ConfigError (never anything else for a bad file)."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ConfigError([ConfigIssue(str(path), "", f"cannot read file: {exc.strerror or exc}")]) from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError([ConfigIssue(str(path), "", f"not UTF-8 text (byte {exc.start})")]) from None
    return parse_course(text, str(path))


def course_files(config_dir: str | Path) -> list[Path]:
    """`<config_dir>/courses/*/course.toml`, sorted, so that conflicts resolve the same way every time."""
    return sorted(Path(config_dir, "courses").glob(f"*/{COURSE_FILE}"))


@dataclass
class _Entry:
    digest: str
    course: Course | None  # the last good version of this file
    issues: list[ConfigIssue] = field(default_factory=list)


class CourseRegistry:
    """All courses under a config directory.

    `reload()` re-reads changed files. A file that became broken keeps its last good version active, and its
    errors stay visible in `issues` until it is fixed. Task names are global (they become model ids
    `youlab_agents.<task>`), so a course that reuses another course's task name is refused as a whole.
    """

    def __init__(self, config_dir: str | Path):
        self.config_dir = Path(config_dir)
        self._lock = threading.Lock()
        self._entries: dict[Path, _Entry] = {}
        self._courses: dict[str, Course] = {}
        self._issues: dict[Path, list[ConfigIssue]] = {}

    def reload(self) -> list[ConfigIssue]:
        """Re-read every course file; returns the issues now standing (empty when all is well)."""
        with self._lock:
            present = course_files(self.config_dir)
            for path in present:
                try:
                    data = path.read_bytes()
                except OSError as exc:
                    self._remember(path, "", None, [ConfigIssue(str(path), "", f"cannot read file: {exc}")])
                    continue
                digest = hashlib.sha256(data).hexdigest()
                entry = self._entries.get(path)
                if entry is not None and entry.digest == digest:
                    continue
                try:
                    course = load_course(path)
                    self._remember(path, digest, course, [])
                except ConfigError as exc:
                    log.error("course file refused, keeping its last good version: %s", exc)
                    self._remember(path, digest, None, exc.issues)
            for gone in set(self._entries) - set(present):
                del self._entries[gone]
            self._rebuild()
            return self.issues

    def _remember(self, path: Path, digest: str, course: Course | None, issues: list[ConfigIssue]) -> None:
        previous = self._entries.get(path)
        kept = course if course is not None else (previous.course if previous else None)
        self._entries[path] = _Entry(digest, kept, issues)

    def _rebuild(self) -> None:
        courses: dict[str, Course] = {}
        task_owner: dict[str, str] = {}
        issues: dict[Path, list[ConfigIssue]] = {}
        for path in sorted(self._entries):
            entry = self._entries[path]
            if entry.issues:
                issues[path] = list(entry.issues)
            course = entry.course
            if course is None:
                continue
            conflicts = []
            if course.id in courses:
                conflicts.append(ConfigIssue(str(path), "agent.id", f"course id {course.id!r} is used by another course file"))
            for i, task in enumerate(course.tasks):
                owner = task_owner.get(task.name)
                if owner is not None:
                    conflicts.append(
                        ConfigIssue(str(path), f"task[{i}].name", f"task name {task.name!r} is already used by course {owner!r}")
                    )
            if conflicts:
                issues.setdefault(path, []).extend(conflicts)
                continue
            courses[course.id] = course
            for task in course.tasks:
                task_owner[task.name] = course.id
        self._courses = courses
        self._issues = issues

    @property
    def courses(self) -> dict[str, Course]:
        return dict(self._courses)

    @property
    def issues(self) -> list[ConfigIssue]:
        return [issue for path in sorted(self._issues) for issue in self._issues[path]]

    def course(self, course_id: str) -> Course:
        try:
            return self._courses[course_id]
        except KeyError:
            raise NotFound(f"no course {course_id!r} (courses: {', '.join(sorted(self._courses)) or 'none'})") from None

    def tasks(self) -> list[tuple[Course, TaskSpec]]:
        return [(c, t) for c in self._courses.values() for t in c.tasks]

    def find_task(self, name: str) -> tuple[Course, TaskSpec]:
        name = name.removeprefix("youlab_agents.")
        for course, task in self.tasks():
            if task.name == name:
                return course, task
        known = ", ".join(sorted(t.name for _, t in self.tasks())) or "none"
        raise NotFound(f"no task {name!r} (tasks: {known})")

    def courses_for_model(self, model_id: str) -> list[Course]:
        return [c for c in self._courses.values() if model_id in c.agent.models]
