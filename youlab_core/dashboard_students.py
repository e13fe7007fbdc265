"""The students of a course for the dashboard (youlab_core.dashboard): per student their last activity, messages
counted, runs, what became of the changes the agents proposed, and the median time they took to decide.

Only counts and times, from the state store and each student's `decision_counts.json`, pending index and decided-diff
archive: never a memory value, so a teacher may see all of it whatever `teachers_read_memory` says.
"""

from __future__ import annotations

import os
import statistics
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from .config import Course
from .memory.decisions import TaskDecisions
from .state import StateStore


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


@dataclass
class StudentProgress:
    """One student of a course: activity, runs and what became of the agents' proposed changes (counts only)."""

    user_id: str
    last_activity: datetime | None = None
    messages: int = 0
    runs: int = 0
    failed_runs: int = 0
    approved: int = 0
    rejected: int = 0  # rejected outright or approved and then undone
    waiting: int = 0  # pending the student's decision
    closed: int = 0  # expired, superseded or stale: never decided by the student
    decide_seconds: float | None = None  # median time from proposal to the student's decision; None before one

    @property
    def proposed(self) -> int:
        return self.approved + self.rejected + self.waiting + self.closed

    def as_json(self) -> dict[str, Any]:
        return {"user": self.user_id, "last_activity": _iso(self.last_activity), "messages": self.messages,
                "runs": self.runs, "failed_runs": self.failed_runs, "proposed": self.proposed,
                "approved": self.approved, "rejected": self.rejected, "waiting": self.waiting, "closed": self.closed,
                "decide_seconds": self.decide_seconds}


_DECIDED = ("approved", "rejected", "undone")


@dataclass(frozen=True)
class RepoFigures:
    """What the students view reads of one repository: decided counts (course -> agent -> status -> n), waiting
    changes (course -> agent -> n), and per course each decided change's wait in seconds."""

    decided: dict[str, dict[str, dict[str, int]]]
    pending: dict[str, dict[str, int]]
    waits: dict[str, list[float]]


_cache: dict[str, tuple[tuple[int, ...], RepoFigures]] = {}  # repository path -> (its stamp, its figures)


def _stamp(repo: str) -> tuple[int, ...] | None:
    """Changes with every commit: git's directory is written on each (its index, the journal, refs), one stat.
    Without one (a copy of the working files), the count files' times. Plain strings and os.stat: this runs once
    per student on every refresh of a course's dashboard."""
    from .memory.decisions import DECISION_COUNTS
    from .memory.diffs import ARCHIVE_DIR, PENDING_INDEX

    try:
        return (os.stat(f"{repo}/.git").st_mtime_ns,)
    except OSError:
        pass
    if not os.path.isdir(repo):
        return None
    stamp = []
    for name in (DECISION_COUNTS, PENDING_INDEX, ARCHIVE_DIR):
        try:
            stamp.append(os.stat(f"{repo}/{name}").st_mtime_ns)
        except OSError:
            stamp.append(0)
    return tuple(stamp)


def repo_figures(repo: Path | str) -> RepoFigures | None:
    """The repository's counts and decision waits (None: no repository). Cached per repository until its next
    commit: reading the archive of decided changes is the expensive part, and most students change nothing between
    two refreshes of the dashboard."""
    from .memory.decisions import archived_diffs, student_counts
    from .memory.repo import StudentRepo

    key = str(repo)
    stamp = _stamp(key)
    if stamp is None:
        return None
    cached = _cache.get(key)
    if cached is not None and cached[0] == stamp:
        return cached[1]
    decided, pending = student_counts(Path(key))
    waits: dict[str, list[float]] = {}
    if any(st.get(s, 0) for agents in decided.values() for st in agents.values() for s in _DECIDED):
        for d in archived_diffs(StudentRepo(Path(key))):
            if d.status.value in _DECIDED and d.decided_at is not None:
                waits.setdefault(d.course, []).append((d.decided_at - d.created_at).total_seconds())
    figures = RepoFigures(decided, pending, waits)
    _cache[key] = (stamp, figures)
    return figures


def student_progress(store: StateStore, course: Course, users_root: Path | None,
                     per_task: dict[str, TaskDecisions] | None = None) -> list[StudentProgress]:
    """Every student with recorded activity in the course (and every student a run was recorded for), by id.
    Decision counts come from each student's `decision_counts.json` and pending index, not from their values;
    `per_task`, when given, is filled with the same counts per task (one read of each repository for both)."""
    runs = store.run_counts(course.id)
    users = sorted(set(store.active_users(course.id)) | set(runs))
    acts = store.activities(course.id, users)
    root = str(users_root) if users_root is not None else None
    out = []
    for user_id in users:
        line = StudentProgress(user_id)
        act = acts.get(user_id)
        if act is not None:
            line.last_activity, line.messages = act.last_message_at, act.message_count
        line.runs, line.failed_runs = runs.get(user_id, (0, 0))
        figures = repo_figures(f"{root}/{user_id}") if root is not None else None
        if figures is not None:
            for agent, statuses in figures.decided.get(course.id, {}).items():
                line.approved += statuses.get("approved", 0)
                line.rejected += statuses.get("rejected", 0) + statuses.get("undone", 0)
                line.closed += sum(statuses.get(s, 0) for s in ("expired", "superseded", "stale"))
                if per_task is not None:
                    counted = per_task.setdefault(agent, TaskDecisions(course.id, agent))
                    for name in ("approved", "rejected", "undone", "expired", "superseded", "stale"):
                        setattr(counted, name, getattr(counted, name) + statuses.get(name, 0))
            for agent, n in figures.pending.get(course.id, {}).items():
                line.waiting += n
                if per_task is not None:
                    per_task.setdefault(agent, TaskDecisions(course.id, agent)).pending += n
            waits = figures.waits.get(course.id)
            line.decide_seconds = statistics.median(waits) if waits else None
        out.append(line)
    return out


def _progress(line: StudentProgress, course_id: str, figures: RepoFigures | None) -> StudentProgress:
    """Fill the decision counts and the median time to decide from the student's repository figures."""
    if figures is None:
        return line
    for statuses in figures.decided.get(course_id, {}).values():
        line.approved += statuses.get("approved", 0)
        line.rejected += statuses.get("rejected", 0) + statuses.get("undone", 0)
        line.closed += sum(statuses.get(s, 0) for s in ("expired", "superseded", "stale"))
    line.waiting += sum(figures.pending.get(course_id, {}).values())
    waits = figures.waits.get(course_id)
    line.decide_seconds = statistics.median(waits) if waits else None
    return line


def student_page(store: StateStore, course: Course, users_root: Path | None, *, limit: int, offset: int = 0,
                 user_ids: list[str] | None = None) -> tuple[int, list[StudentProgress]]:
    """(how many students the course has, one page of them by last activity, newest first): what the dashboard
    shows. One indexed query and one repository read per student shown, so it costs the page, not the course."""
    total, rows = store.course_students(course.id, limit, offset, user_ids)
    out = []
    for act, runs, failed in rows:
        line = StudentProgress(act.user_id, act.last_message_at, act.message_count, runs, failed)
        out.append(_progress(line, course.id, repo_figures(f"{users_root}/{act.user_id}") if users_root else None))
    return total, out
