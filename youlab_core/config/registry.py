"""The course registry: every course under a config directory, re-read on change, and what a broken file does.

One broken file never stops the other courses. A file that was valid and breaks keeps its last good version running
and its problems reported until it is fixed; with `last_good_dir` that version is also saved to disk, so a restart
with the broken file still runs the course. A file that never had a valid version is reported as not loaded.
Deleting a course file removes the course and its saved copy (that is how an admin takes a course down), but a
missing courses directory (an unmounted volume) is a problem, not the deletion of every course.
Task names are global (model ids `youlab_agents.<task>`): a course reusing another course's task name is refused.

Problems are logged once each time a file's problems change, with server paths; `problem_lines` gives them with
names relative to the config directory, for places students and teachers can read.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from ..errors import ConfigError, ConfigIssue, NotFound
from .last_good import LastGoodCopies
from .loader import course_files, parse_course_bytes
from .schema import Course, TaskSpec

log = logging.getLogger(__name__)

KEPT_IN_MEMORY = "kept in memory"


@dataclass
class _Entry:
    digest: str  # of the bytes last read; "" when the file could not be read
    course: Course | None  # the file's own version when valid, else its last good version, else None
    issues: list[ConfigIssue] = field(default_factory=list)
    kept: str = ""  # when broken: where the last good version came from (KEPT_IN_MEMORY or "saved copy <path>")
    note: str = ""  # when broken and nothing is kept: why (for the log)


@dataclass(frozen=True)
class FileStatus:
    """Where one course file stands after a reload."""

    file: Path  # a server path: for logs only
    name: str  # relative to the config directory, e.g. courses/demo/course.toml
    issues: tuple[ConfigIssue, ...]
    course_id: str | None  # the course this file provides now, None when it provides none
    kept: str = ""  # set when a last good version runs in place of the broken file
    note: str = ""  # why nothing is loaded

    @property
    def loaded(self) -> bool:
        return self.course_id is not None

    def lines(self) -> list[str]:
        """The problems as `<name>: <key path>: <reason>` (no server path), then what that means for the course."""
        if not self.issues:
            return []
        lines = [str(ConfigIssue(self.name, issue.key, issue.reason)) for issue in self.issues]
        if self.loaded:
            lines.append(f"{self.name}: the last good version keeps running until the file is fixed")
        else:
            lines.append(f"{self.name}: the course in this file is not loaded")
        return lines

    def summary(self) -> str:
        """What happened to the course, for the log."""
        if not self.issues:
            return f"course file {self.file} is valid; course {self.course_id!r} is loaded"
        if self.loaded:
            return (f"course file {self.file} refused; the last good version of course {self.course_id!r} "
                    f"({self.kept}) keeps running until the file is fixed")
        return f"course file {self.file} refused; the course is not loaded ({self.note})"


class CourseRegistry:
    """All courses under `config_dir`; `reload()` re-reads changed files.

    `last_good_dir`: where to save the last valid version of each course file, so that it survives a restart
    (the bundle uses `<storage root>/config-last-good`). None keeps it in memory only.
    """

    def __init__(self, config_dir: str | Path, *, last_good_dir: str | Path | None = None):
        self.config_dir = Path(config_dir)
        self.last_good = LastGoodCopies(last_good_dir) if last_good_dir is not None else None
        self._lock = threading.Lock()
        self._entries: dict[Path, _Entry] = {}
        self._courses: dict[str, Course] = {}
        self._status: dict[Path, FileStatus] = {}
        self._dir_issue: ConfigIssue | None = None
        self._logged: dict[Path, tuple[object, ...]] = {}
        self._dir_logged: ConfigIssue | None = None

    # Reading -------------------------------------------------------------------------------------------------

    def reload(self) -> list[ConfigIssue]:
        """Re-read every course file; returns the issues now standing (empty when all is well)."""
        with self._lock:
            courses_dir = self.config_dir / "courses"
            try:
                os.listdir(courses_dir)
            except OSError as exc:
                self._dir_issue = ConfigIssue(
                    str(courses_dir), "",
                    f"the courses directory cannot be read ({exc.strerror or 'error'}); courses loaded before keep running",
                )
            else:
                self._dir_issue = None
                present = course_files(self.config_dir)
                for path in present:
                    self._read(path)
                for gone in set(self._entries) - set(present):
                    self._forget(gone)
            self._rebuild()
            self._report()
            return self.issues

    def _relative(self, path: Path) -> PurePosixPath:
        try:
            return PurePosixPath(*path.relative_to(self.config_dir).parts)
        except ValueError:
            return PurePosixPath(path.parent.name, path.name)

    def _read(self, path: Path) -> None:
        try:
            data = path.read_bytes()
        except OSError as exc:
            self._broken(path, "", [ConfigIssue(str(path), "", f"cannot read file ({exc.strerror or 'error'})")])
            return
        digest = hashlib.sha256(data).hexdigest()
        entry = self._entries.get(path)
        if entry is not None and entry.digest == digest:
            return
        try:
            course = parse_course_bytes(data, str(path))
        except ConfigError as exc:
            self._broken(path, digest, exc.issues)
            return
        self._entries[path] = _Entry(digest, course)
        if self.last_good is not None:
            self.last_good.save(self._relative(path), data)

    def _broken(self, path: Path, digest: str, issues: list[ConfigIssue]) -> None:
        previous = self._entries.get(path)
        if previous is not None:  # this process has seen the file before: keep what it had
            course, kept, note = previous.course, previous.kept, previous.note
            if course is not None and not kept:
                kept = KEPT_IN_MEMORY
        else:  # first sight since the start: the saved copy is the last good version, if there is one
            course, kept, note = self._from_copy(path)
        self._entries[path] = _Entry(digest, course, list(issues), kept, note)

    def _from_copy(self, path: Path) -> tuple[Course | None, str, str]:
        if self.last_good is None:
            return None, "", "it has not been valid since the start, and no last good copies are kept"
        relative = self._relative(path)
        copy = self.last_good.path_for(relative)
        data = self.last_good.load(relative)
        if data is None:
            return None, "", f"it has never been valid (no saved copy at {copy})"
        try:
            course = parse_course_bytes(data, str(copy))
        except ConfigError as exc:
            return None, "", f"its saved last good copy {copy} is not valid any more either: {exc}"
        return course, f"saved copy {copy}", ""

    def _forget(self, path: Path) -> None:
        entry = self._entries.pop(path)
        if self.last_good is not None:
            self.last_good.remove(self._relative(path))
        if entry.course is not None:
            log.info("course file %s was removed: course %r is unloaded", path, entry.course.id)

    def _rebuild(self) -> None:
        courses: dict[str, Course] = {}
        task_owner: dict[str, str] = {}
        status: dict[Path, FileStatus] = {}
        for path in sorted(self._entries):
            entry = self._entries[path]
            issues = list(entry.issues)
            course = entry.course
            loaded: str | None = None
            note = entry.note
            if course is not None:
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
                    issues.extend(conflicts)
                    note = "it conflicts with another course file"
                else:
                    courses[course.id] = course
                    task_owner.update((task.name, course.id) for task in course.tasks)
                    loaded = course.id
            kept = entry.kept if loaded and entry.issues else ""
            status[path] = FileStatus(path, str(self._relative(path)), tuple(issues), loaded, kept, note if not loaded else "")
        self._courses = courses
        self._status = status

    def _report(self) -> None:
        """Log each file's problems once per change of them, not on every reload."""
        if self._dir_issue != self._dir_logged:
            if self._dir_issue is not None:
                log.error("course configuration problem: %s", self._dir_issue)
            self._dir_logged = self._dir_issue
        for path, st in self._status.items():
            key = (st.issues, st.course_id, st.kept, st.note)
            before = self._logged.get(path)
            if before == key:
                continue
            if st.issues:
                detail = "\n".join(f"  {issue}" for issue in st.issues)
                log.log(logging.WARNING if st.loaded else logging.ERROR, "%s:\n%s", st.summary(), detail)
            elif before is not None and before[0]:
                log.info("course file %s is fixed; course %r is loaded", path, st.course_id)
            self._logged[path] = key
        for gone in set(self._logged) - set(self._status):
            del self._logged[gone]

    # Reading the result --------------------------------------------------------------------------------------

    @property
    def courses(self) -> dict[str, Course]:
        return dict(self._courses)

    @property
    def issues(self) -> list[ConfigIssue]:
        """Every standing problem, with server paths (for the log and the command line)."""
        found = [self._dir_issue] if self._dir_issue is not None else []
        return found + [issue for st in self.statuses() for issue in st.issues]

    def statuses(self) -> list[FileStatus]:
        """Every course file found, in path order."""
        status = self._status  # one snapshot: a reload in another thread replaces the dict, never edits it
        return [status[path] for path in sorted(status)]

    def problem_lines(self, course_id: str | None = None) -> list[str]:
        """The standing problems as `<file relative to the config dir>: <key path>: <reason>`, never a server path.
        With `course_id`: only those of the file that provides that course."""
        lines: list[str] = []
        if course_id is None and self._dir_issue is not None:
            lines.append(f"courses: {self._dir_issue.reason}")
        for st in self.statuses():
            if course_id is None or st.course_id == course_id:
                lines.extend(st.lines())
        return lines

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
