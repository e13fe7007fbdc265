"""The figures of a course for the people who run it: one computation shared by `youlab status` and the
in-browser view for admins and teachers (issue 13).

Per course: its configuration problems (file, key, reason), per task its state (paused, by whom), the work pending,
and its latest runs (trigger, start, duration, students, status, tokens, failure reason, next retry) with a failing
task marked; per student: last activity, messages counted, runs, and what became of the changes the agents proposed.
Outbox backlogs are the whole installation's. Only counts and statuses: a student's memory values are never read
here, so the result may be shown to a teacher whatever the course's `teachers_read_memory` says.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from .config import Course, CourseRegistry, TaskSpec
from .memory import MemoryStore
from .memory.decisions import TaskDecisions, decision_summary
from .state import OutboxStats, RunRecord, RunStatus, StateStore, TaskPause

OUTBOX_QUEUES = ("honcho", "letta")
RUNS_PER_TASK = 5
_SETTLED = (RunStatus.succeeded, RunStatus.failed, RunStatus.retrying)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def run_duration(run: RunRecord) -> float | None:
    """Seconds the run's last attempt took; None until it has finished."""
    if run.started_at is None or run.finished_at is None:
        return None
    return max(0.0, (run.finished_at - run.started_at).total_seconds())


def run_tokens(run: RunRecord) -> int | None:
    """Tokens the run used (prompt + completion); None when it recorded no usage."""
    usage = run.token_usage or {}
    if "total_tokens" in usage:
        return int(usage["total_tokens"])
    parts = [usage[k] for k in ("prompt_tokens", "completion_tokens") if k in usage]
    return int(sum(parts)) if parts else None


def trigger_names(task: TaskSpec) -> list[str]:
    """The task's triggers as the course file says them, e.g. ["schedule", "after_messages=3", "manual"]."""
    names = []
    if task.schedule:
        names.append("schedule")
    if task.on_idle:
        names.append("on_idle")
    if task.after_messages:
        names.append(f"after_messages={task.after_messages}")
    if task.manual:
        names.append("manual")
    return names


@dataclass(frozen=True)
class Problem:
    """One configuration problem, with the file named relative to the config directory."""

    file: str
    key: str
    reason: str

    def as_json(self) -> dict[str, Any]:
        return {"file": self.file, "key": self.key, "reason": self.reason}


@dataclass(frozen=True)
class RunLine:
    """One recent run of a task. `next_retry`: when a failed attempt is tried again (status retrying)."""

    run: RunRecord
    next_retry: datetime | None

    @property
    def failed(self) -> bool:
        return self.run.status in (RunStatus.failed, RunStatus.retrying)

    def as_json(self) -> dict[str, Any]:
        r = self.run
        return {"id": r.id, "user": r.user_id, "trigger": r.trigger, "status": r.status, "attempts": r.attempts,
                "started": _iso(r.started_at or r.claimed_at), "duration_seconds": run_duration(r),
                "tokens": run_tokens(r), "error": r.error, "next_retry": _iso(self.next_retry),
                "diffs_proposed": r.diffs_proposed}


@dataclass(frozen=True)
class TaskStatus:
    task: str
    title: str
    triggers: list[str]
    paused: TaskPause | None
    due: int  # due now and unclaimed (a paused task's keep growing)
    later: int
    claimed: int
    runs: list[RunLine]
    decisions: TaskDecisions | None = None  # what its proposed changes became, over every student (issue 15)

    @property
    def failing(self) -> bool:
        """Whether the newest settled run (succeeded, failed, or waiting for its retry) did not succeed."""
        settled = next((line for line in self.runs if line.run.status in _SETTLED), None)
        return settled is not None and settled.failed

    def as_json(self) -> dict[str, Any]:
        p = self.paused
        return {"task": self.task, "title": self.title, "triggers": self.triggers, "failing": self.failing,
                "paused": {"by": p.paused_by, "at": _iso(p.paused_at), "note": p.note} if p else None,
                "due": self.due, "later": self.later, "claimed": self.claimed,
                "runs": [line.as_json() for line in self.runs],
                "decisions": self.decisions.as_json() if self.decisions is not None else None}


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

    @property
    def proposed(self) -> int:
        return self.approved + self.rejected + self.waiting + self.closed

    def as_json(self) -> dict[str, Any]:
        return {"user": self.user_id, "last_activity": _iso(self.last_activity), "messages": self.messages,
                "runs": self.runs, "failed_runs": self.failed_runs, "proposed": self.proposed,
                "approved": self.approved, "rejected": self.rejected, "waiting": self.waiting, "closed": self.closed}


@dataclass
class CourseStatus:
    course_id: str
    name: str
    teachers: list[str]
    teachers_read_memory: bool
    problems: list[Problem]
    tasks: list[TaskStatus]
    students: list[StudentProgress] | None = None  # None: not asked for

    def as_json(self) -> dict[str, Any]:
        return {"course": self.course_id, "name": self.name, "teachers": self.teachers,
                "teachers_read_memory": self.teachers_read_memory,
                "problems": [p.as_json() for p in self.problems], "tasks": [t.as_json() for t in self.tasks],
                "students": None if self.students is None else [s.as_json() for s in self.students]}


@dataclass
class Status:
    """Everything `youlab status` shows. `unloaded`: problems of files that provide no course at all."""

    now: datetime
    courses: list[CourseStatus]
    unloaded: list[Problem] = field(default_factory=list)
    outbox: dict[str, OutboxStats] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {"now": _iso(self.now), "courses": [c.as_json() for c in self.courses],
                "unloaded": [p.as_json() for p in self.unloaded],
                "outbox": {q: {"queued": s.queued, "dead": s.dead, "overflowed": s.overflowed}
                           for q, s in self.outbox.items()}}


@dataclass(frozen=True)
class Access:
    """What one Open WebUI user may see of a course's figures. `reads_values`: whether they may also read
    students' memory values (admins: Open WebUI's own admin chat access setting; teachers: the course's
    `teachers_read_memory`). Every later surface asks this first and refuses when `allowed` is false."""

    allowed: bool
    role: str  # "admin" | "teacher" | "" (refused)
    reads_values: bool


def access(course: Course, *, role: str, groups: set[str], admin_chat_access: bool) -> Access:
    """The one rule for who sees a course's figures: an Open WebUI admin, or a member of one of the course's
    teacher groups (`[agent].teachers`, by group name). Students and everyone else are refused."""
    if role == "admin":
        return Access(True, "admin", admin_chat_access)
    if set(course.agent.teachers) & groups:
        return Access(True, "teacher", course.agent.teachers_read_memory)
    return Access(False, "", False)


def _problems(registry: CourseRegistry) -> tuple[dict[str, list[Problem]], list[Problem]]:
    """Problems per loaded course (its last good version runs), and those of files that load no course."""
    per_course: dict[str, list[Problem]] = {}
    unloaded: list[Problem] = []
    for status in registry.statuses():
        found = [Problem(status.name, issue.key, issue.reason) for issue in status.issues]
        if status.course_id is None:
            unloaded.extend(found)
        else:
            per_course.setdefault(status.course_id, []).extend(found)
    return per_course, unloaded


def task_status(store: StateStore, task: TaskSpec, pending: tuple[int, int, int], paused: TaskPause | None,
                runs_per_task: int = RUNS_PER_TASK) -> TaskStatus:
    lines = []
    for run in store.list_runs(task=task.name, limit=runs_per_task):
        retry_at = None
        if run.status == RunStatus.retrying:
            state = store.trigger_state(task.name, run.user_id)
            retry_at = state.next_due_at if state is not None else None
        lines.append(RunLine(run, retry_at))
    due, later, claimed = pending
    return TaskStatus(task.name, task.title, trigger_names(task), paused, due, later, claimed, lines)


def student_progress(store: StateStore, course: Course, users_root: Path | None) -> list[StudentProgress]:
    """Every student with recorded activity in the course (and every student a run was recorded for), by id.
    Decision counts come from each student's `decision_counts.json` and pending index, not from their values."""
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
            for statuses in decided.get(course.id, {}).values():
                line.approved += statuses.get("approved", 0)
                line.rejected += statuses.get("rejected", 0) + statuses.get("undone", 0)
                line.closed += sum(statuses.get(s, 0) for s in ("expired", "superseded", "stale"))
            line.waiting += sum(pending.get(course.id, {}).values())
        out.append(line)
    return out


def course_status(store: StateStore, registry: CourseRegistry, now: datetime, *, course: str | None = None,
                  users_root: Path | None = None, students: bool = True,
                  runs_per_task: int = RUNS_PER_TASK) -> Status:
    """The figures of every loaded course (or only `course`), as the registry last loaded them.
    `users_root`: the students' repositories, for decision counts (None: counts stay 0)."""
    problems, unloaded = _problems(registry)
    pending = store.pending_counts(now)
    paused = store.paused_tasks()
    courses = []
    for loaded in sorted(registry.courses.values(), key=lambda c: c.id):
        if course not in (None, loaded.id):
            continue
        tasks = [task_status(store, t, pending.get(t.name, (0, 0, 0)), paused.get(t.name), runs_per_task)
                 for t in loaded.tasks]
        if users_root is not None:
            decided = {d.task: d for d in decision_summary(MemoryStore(users_root), course=loaded.id)}
            tasks = [replace(t, decisions=decided.get(t.task, TaskDecisions(loaded.id, t.task))) for t in tasks]
        courses.append(CourseStatus(
            loaded.id, loaded.agent.name, list(loaded.agent.teachers), loaded.agent.teachers_read_memory,
            problems.get(loaded.id, []), tasks,
            student_progress(store, loaded, users_root) if students else None))
    outbox = {queue: store.outbox_stats(queue=queue) for queue in OUTBOX_QUEUES}
    return Status(now, courses, unloaded if course is None else [], outbox)
