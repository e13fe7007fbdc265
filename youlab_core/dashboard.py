"""The figures of a course for the people who run it: one computation shared by `youlab status` and the
in-browser view for admins and teachers (issue 13).

Per course: its configuration problems (file, key, reason), per task its state (paused, by whom), the work pending,
and its latest runs (trigger, start, duration, students, status, tokens, failure reason, next retry) with a failing
task marked; per student: last activity, messages counted, runs, and what became of the changes the agents proposed.
Outbox backlogs, the schedulers' last ticks and what will not run make the Health section. Only counts, statuses
and times: a student's memory values are never read here, so the result may be shown to a teacher whatever the
course's `teachers_read_memory` says (youlab_core.bundle.dashboard_access reads values, and records each read).
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .config import Course, CourseRegistry, TaskSpec
from .memory import MemoryStore
from .memory.decisions import TaskDecisions, decision_summary
from .state import Heartbeat, OutboxStats, RunRecord, RunStatus, StateStore, TaskAction, TaskPause

if TYPE_CHECKING:
    from .settings import Settings

from .dashboard_students import StudentProgress, student_progress  # noqa: E402,F401  (re-exported)

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


def format_duration(seconds: float | None) -> str:
    """"4.2s", "3m05s", "2h10m", "3d4h"; "-" for none."""
    if seconds is None:
        return "-"
    if seconds < 60:
        return f"{seconds:.1f}s"
    whole = int(seconds)
    if whole < 3600:
        return f"{whole // 60}m{whole % 60:02d}s"
    if whole < 86400:
        return f"{whole // 3600}h{whole % 3600 // 60:02d}m"
    return f"{whole // 86400}d{whole % 86400 // 3600}h"


# What a run's recorded error means, in words, checked in order (the record keeps the technical text).
_REASONS = (
    (("timed out", "timeout"), "it waited too long for an answer"),
    (("llm_model", "no model", "model not found", "api key", "api_key", "401", "403"),
     "its language model is not set up or refused the call"),
    (("connect", "unreachable", "unavailable", "refused", "name resolution", "502", "503", "504", "network"),
     "a service it needs could not be reached"),
    (("honcho", "dialectic"), "its memory service (Honcho) failed"),
    (("no task", "not configured", "no course"), "its course or task is no longer configured"),
    (("already under way",), "another run for the same student was still going"),
)


def failure_reason(error: str | None) -> str:
    """A failed run's reason in plain words, then the first line of what was recorded (never a traceback)."""
    text = (error or "").strip()
    if not text:
        return "no reason was recorded"
    first = text.splitlines()[0].strip()
    first = first if len(first) <= 160 else first[:159] + "\u2026"
    lowered = text.lower()
    meaning = next((words for keys, words in _REASONS if any(k in lowered for k in keys)), "")
    return f"{meaning[0].upper()}{meaning[1:]} ({first})" if meaning else first


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
class Health:
    """What keeps things from running: each scheduler's last tick, the outbox backlogs, and per course what will
    not run (no model set, a paused task, a task with no trigger). `problems_since`: per course file (its name
    relative to the config directory), when it was last changed, i.e. since when its problems stand."""

    heartbeats: list[Heartbeat] = field(default_factory=list)
    outbox: dict[str, OutboxStats] = field(default_factory=dict)
    blocked: list[str] = field(default_factory=list)
    problems_since: dict[str, datetime] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {"schedulers": [{"process": b.owner, "last_tick": _iso(b.at), "started": _iso(b.started_at)}
                               for b in self.heartbeats],
                "outbox": {q: {"queued": s.queued, "dead": s.dead, "overflowed": s.overflowed}
                           for q, s in self.outbox.items()},
                "will_not_run": self.blocked,
                "problems_since": {f: _iso(at) for f, at in self.problems_since.items()}}


@dataclass
class CourseStatus:
    course_id: str
    name: str
    teachers: list[str]
    teachers_read_memory: bool
    problems: list[Problem]
    tasks: list[TaskStatus]
    students: list[StudentProgress] | None = None  # None: not asked for
    blocked: list[str] = field(default_factory=list)  # what will not run in this course, in words
    actions: list[TaskAction] = field(default_factory=list)  # pauses, resumes, runs by hand, retries: newest first

    def as_json(self) -> dict[str, Any]:
        return {"course": self.course_id, "name": self.name, "teachers": self.teachers,
                "teachers_read_memory": self.teachers_read_memory,
                "problems": [p.as_json() for p in self.problems], "tasks": [t.as_json() for t in self.tasks],
                "will_not_run": self.blocked,
                "actions": [{"task": a.task, "action": a.action, "by": a.actor, "at": _iso(a.at), "note": a.note}
                            for a in self.actions],
                "students": None if self.students is None else [s.as_json() for s in self.students]}


@dataclass
class Status:
    """Everything `youlab status` shows. `unloaded`: problems of files that provide no course at all."""

    now: datetime
    courses: list[CourseStatus]
    unloaded: list[Problem] = field(default_factory=list)
    outbox: dict[str, OutboxStats] = field(default_factory=dict)
    health: Health = field(default_factory=Health)

    def as_json(self) -> dict[str, Any]:
        return {"now": _iso(self.now), "courses": [c.as_json() for c in self.courses],
                "unloaded": [p.as_json() for p in self.unloaded],
                "outbox": {q: {"queued": s.queued, "dead": s.dead, "overflowed": s.overflowed}
                           for q, s in self.outbox.items()},
                "health": self.health.as_json()}


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


def _problems(registry: CourseRegistry) -> tuple[dict[str, list[Problem]], list[Problem], dict[str, datetime]]:
    """Problems per loaded course (its last good version runs), those of files that load no course, and per file
    with problems when it was last changed (its problems stand since then)."""
    per_course: dict[str, list[Problem]] = {}
    unloaded: list[Problem] = []
    since: dict[str, datetime] = {}
    for status in registry.statuses():
        found = [Problem(status.name, issue.key, issue.reason) for issue in status.issues]
        if found:
            try:
                since[status.name] = datetime.fromtimestamp(status.file.stat().st_mtime, UTC)
            except OSError:  # deleted meanwhile: no time to show
                pass
        if status.course_id is None:
            unloaded.extend(found)
        else:
            per_course.setdefault(status.course_id, []).extend(found)
    return per_course, unloaded, since


def task_status(store: StateStore, task: TaskSpec, pending: tuple[int, int, int], paused: TaskPause | None,
                runs_per_task: int = RUNS_PER_TASK, status: str | None = None) -> TaskStatus:
    lines = []
    for run in store.list_runs(status=status or None, task=task.name, limit=runs_per_task):
        retry_at = None
        if run.status == RunStatus.retrying:
            state = store.trigger_state(task.name, run.user_id)
            retry_at = state.next_due_at if state is not None else None
        lines.append(RunLine(run, retry_at))
    due, later, claimed = pending
    return TaskStatus(task.name, task.title, trigger_names(task), paused, due, later, claimed, lines)


def agents_problem(settings: Settings) -> str:
    """Why the agents cannot run with these settings ("" when they can): the check the bundle makes when it builds
    its runner (youlab_core.bundle.parts), for the command line."""
    from .errors import ConfigError
    from .llm import make_llm

    if not settings.llm_model and settings.honcho_url:
        return ""  # Honcho answers the questions
    try:
        make_llm(settings, inside_openwebui=True, user_id="check")
    except ConfigError as exc:
        return "; ".join(f"{i.key}: {i.reason}" for i in exc.issues)
    return ""


def will_not_run(course: Course, tasks: list[TaskStatus], agents_problem: str) -> list[str]:
    """What will not run in this course, in words."""
    out = [f"No agent runs: {agents_problem}."] if agents_problem else []
    for t in tasks:
        if t.paused is not None:
            out.append(f"{t.title} is paused by {t.paused.paused_by}"
                       + (f" ({t.paused.note})" if t.paused.note else "") + ": it counts but starts no run.")
        if not t.triggers:
            out.append(f"{t.title} has no trigger: it runs only when someone starts it.")
        elif t.triggers == ["manual"]:
            out.append(f"{t.title} runs only by hand.")
    return out


def course_status(store: StateStore, registry: CourseRegistry, now: datetime, *, course: str | None = None,
                  users_root: Path | None = None, students: bool = True,
                  runs_per_task: int = RUNS_PER_TASK, status: str | None = None, task: str | None = None,
                  agents_problem: str = "", actions: int = 20) -> Status:
    """The figures of every loaded course (or only `course`), as the registry last loaded them.
    `users_root`: the students' repositories, for decision counts (None: counts stay 0). `status`, `task`: only
    those runs (the query filters, so older failures are found too). `agents_problem`: why no agent can run."""
    problems, unloaded, since = _problems(registry)
    pending = store.pending_counts(now)
    paused = store.paused_tasks()
    courses = []
    for loaded in sorted(registry.courses.values(), key=lambda c: c.id):
        if course not in (None, loaded.id):
            continue
        tasks = [task_status(store, t, pending.get(t.name, (0, 0, 0)), paused.get(t.name), runs_per_task, status)
                 for t in loaded.tasks if task in (None, "", t.name)]
        per_task: dict[str, TaskDecisions] = {}
        progress = student_progress(store, loaded, users_root, per_task) if students else None
        if users_root is not None:
            if not students:
                per_task = {d.task: d for d in decision_summary(MemoryStore(users_root), course=loaded.id)}
            tasks = [replace(t, decisions=per_task.get(t.task, TaskDecisions(loaded.id, t.task))) for t in tasks]
        names = {t.name for t in loaded.tasks}
        done = [a for a in store.task_actions(limit=actions * 4) if a.course_id == loaded.id or a.task in names]
        courses.append(CourseStatus(
            loaded.id, loaded.agent.name, list(loaded.agent.teachers), loaded.agent.teachers_read_memory,
            problems.get(loaded.id, []), tasks, progress, will_not_run(loaded, tasks, agents_problem), done[:actions]))
    outbox = {queue: store.outbox_stats(queue=queue) for queue in OUTBOX_QUEUES}
    health = Health(store.heartbeats(), outbox, [b for c in courses for b in c.blocked], since)
    return Status(now, courses, unloaded if course is None else [], outbox, health)
