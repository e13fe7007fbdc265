"""The students of a course for the dashboard (youlab_core.dashboard): per student their last activity, messages
counted, runs, what became of the changes the agents proposed, and the median time they took to decide.

Only counts and times, from the state store and each student's `decision_counts.json`, pending index and decided-diff
archive: never a memory value, so a teacher may see all of it whatever `teachers_read_memory` says.
"""

from __future__ import annotations

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
_decide_cache: dict[Path, tuple[tuple[int, int], float | None]] = {}  # repo -> (its archive's stamp, median)


def decide_median(repo: Path) -> float | None:
    """Median seconds from an agent's proposal to the student's decision, over the student's decided changes (every
    course). Cached per repository until its archive changes: reading the archive is the expensive part."""
    from .memory.decisions import archived_diffs
    from .memory.diffs import ARCHIVE_DIR
    from .memory.repo import StudentRepo

    archive = repo / ARCHIVE_DIR
    try:
        stat = archive.stat()
        stamp = (stat.st_mtime_ns, len(list(archive.iterdir())))
    except OSError:
        return None
    cached = _decide_cache.get(repo)
    if cached is not None and cached[0] == stamp:
        return cached[1]
    waits = [(d.decided_at - d.created_at).total_seconds() for d in archived_diffs(StudentRepo(repo))
             if d.status.value in _DECIDED and d.decided_at is not None]
    median = statistics.median(waits) if waits else None
    _decide_cache[repo] = (stamp, median)
    return median


def student_progress(store: StateStore, course: Course, users_root: Path | None,
                     per_task: dict[str, TaskDecisions] | None = None) -> list[StudentProgress]:
    """Every student with recorded activity in the course (and every student a run was recorded for), by id.
    Decision counts come from each student's `decision_counts.json` and pending index, not from their values;
    `per_task`, when given, is filled with the same counts per task (one read of each repository for both)."""
    from .memory.decisions import student_counts

    runs = store.run_counts(course.id)
    users = sorted(set(store.active_users(course.id)) | set(runs))
    acts = store.activities(course.id, users)
    out = []
    for user_id in users:
        line = StudentProgress(user_id)
        act = acts.get(user_id)
        if act is not None:
            line.last_activity, line.messages = act.last_message_at, act.message_count
        line.runs, line.failed_runs = runs.get(user_id, (0, 0))
        repo = users_root / user_id if users_root is not None else None
        if repo is not None and repo.is_dir():
            decided, pending = student_counts(repo)
            for agent, statuses in decided.get(course.id, {}).items():
                line.approved += statuses.get("approved", 0)
                line.rejected += statuses.get("rejected", 0) + statuses.get("undone", 0)
                line.closed += sum(statuses.get(s, 0) for s in ("expired", "superseded", "stale"))
                if per_task is not None:
                    counted = per_task.setdefault(agent, TaskDecisions(course.id, agent))
                    for name in ("approved", "rejected", "undone", "expired", "superseded", "stale"):
                        setattr(counted, name, getattr(counted, name) + statuses.get(name, 0))
            for agent, n in pending.get(course.id, {}).items():
                line.waiting += n
                if per_task is not None:
                    per_task.setdefault(agent, TaskDecisions(course.id, agent)).pending += n
            if line.approved or line.rejected:
                line.decide_seconds = decide_median(repo)
        out.append(line)
    return out
