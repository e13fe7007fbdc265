"""What a run produced, as data (the bundle renders it as a thread) and as plain text (the CLI)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ..config import MergeStrategy, QuerySpec
from ..llm.base import Usage


@dataclass
class ProposedChange:
    """One pending diff the run proposed (or found already pending with the same value: `reused`)."""

    target: str
    block: str
    field: str
    operation: MergeStrategy
    current_value: Any
    proposed_value: Any
    reasoning: str
    diff_id: str
    note: str = ""
    reused: bool = False


@dataclass(frozen=True)
class HeldBack:
    """A value the run computed and did not propose, because the student already decided on that field: the
    value is one they rejected (or approved and then undid), or nothing new was said since such a decision."""

    target: str
    value: Any
    reason: str  # plain words, e.g. "you rejected this on 2026-11-24"
    diff_id: str  # the earlier decision's diff
    status: str  # rejected | undone
    decided_at: datetime | None
    note: str = ""  # the student's note on that decision


@dataclass
class QueryReport:
    query: QuerySpec
    question: str
    answer: str = ""
    sessions_used: tuple[str, ...] = ()
    change: ProposedChange | None = None
    held_back: HeldBack | None = None  # what the student already decided against (shown in the details only)
    decisions_in_prompt: int = 0  # earlier decisions on the field given to the dialectic as context
    newest_message_at: datetime | None = None  # the newest message the answer read, when the dialectic tells
    skipped_reason: str = ""  # why no change was proposed although nothing failed
    error: str = ""  # why the query failed (after retries)
    duration: float = 0.0
    usage: Usage | None = None
    dialectic_attempts: int = 0  # calls made, retries included
    merge_attempts: int = 0  # merge calls made (llm_diff calls the LLM; append/replace do not)

    @property
    def target(self) -> str:
        return self.query.target


@dataclass
class StudentReport:
    user_id: str
    run_id: str
    task: str
    course_id: str
    trigger: str
    status: str = "running"  # succeeded | failed | skipped | cancelled
    queries: list[QueryReport] = field(default_factory=list)
    error: str = ""
    started_at: datetime | None = None
    finished_at: datetime | None = None
    duration: float = 0.0
    usage: Usage = field(default_factory=Usage)
    thread_chat_id: str | None = None
    no_report: str = ""  # why no thread was written although the run succeeded (plain words, for the admin)
    # The agent's diffs still pending for the student when the thread is written (None: unknown); the thread
    # lists again those whose own thread is gone.
    pending_diffs: list[Any] | None = None

    @property
    def diffs_proposed(self) -> int:
        return sum(1 for q in self.queries if q.change is not None)

    @property
    def held_back(self) -> list[HeldBack]:
        return [q.held_back for q in self.queries if q.held_back is not None]

    @property
    def failed(self) -> bool:
        return self.status == "failed"

    def errors(self) -> list[str]:
        found = [f"{q.target}: {q.error}" for q in self.queries if q.error]
        if self.error:
            found.append(self.error)
        return found


@dataclass
class TaskRunReport:
    """One run of a task for a set of students (a batch, or every batch of a manual run)."""

    task: str
    course_id: str
    trigger: str
    students: list[StudentReport] = field(default_factory=list)
    duration: float = 0.0

    def _count(self, status: str) -> int:
        return sum(1 for s in self.students if s.status == status)

    @property
    def succeeded(self) -> int:
        return self._count("succeeded")

    @property
    def failed(self) -> int:
        return self._count("failed")

    @property
    def skipped(self) -> int:
        return self._count("skipped")

    @property
    def diffs_proposed(self) -> int:
        return sum(s.diffs_proposed for s in self.students)

    @property
    def held_back(self) -> int:
        return sum(len(s.held_back) for s in self.students)

    @property
    def usage(self) -> Usage:
        total = Usage()
        for s in self.students:
            total = total + s.usage
        return total

    def student(self, user_id: str) -> StudentReport | None:
        return next((s for s in self.students if s.user_id == user_id), None)

    def failures(self) -> dict[str, str]:
        """Failed students and why: what the scheduler settles (a BatchOutcome)."""
        return {s.user_id: "; ".join(s.errors()) or "failed" for s in self.students if s.status == "failed"}

    @classmethod
    def combine(cls, task: str, course_id: str, trigger: str, reports: Sequence[object], user_ids: list[str], *,
                failed: dict[str, str] | None = None, duration: float = 0.0) -> TaskRunReport:
        """One report of a run made of several batches, in the order of `user_ids`: a student no batch reported is
        `failed` with the reason in `failed` when given, else `skipped` (a run of the task for them was under way)."""
        by_user = {s.user_id: s for r in reports if isinstance(r, TaskRunReport) for s in r.students}
        combined = cls(task, course_id, trigger, duration=duration)
        for user_id in dict.fromkeys(user_ids):
            found = by_user.get(user_id)
            if found is None and failed and user_id in failed:
                found = StudentReport(user_id, "", task, course_id, trigger, status="failed", error=failed[user_id])
            elif found is None:
                found = StudentReport(user_id, "", task, course_id, trigger, status="skipped",
                                      error="a run of this task for this student is already under way")
            combined.students.append(found)
        return combined

    def render(self, *, details: bool = True) -> str:
        return render_run(self, details=details)


def _short(value: Any, limit: int = 240) -> str:
    if isinstance(value, str):
        text = value
    elif isinstance(value, datetime):
        text = value.isoformat()
    else:
        text = json.dumps(value, ensure_ascii=False, default=str)
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def render_student(report: StudentReport) -> str:
    lines = [f"== {report.user_id}: {report.status} ({report.duration:.2f}s, {report.diffs_proposed} change(s) proposed,"
             f" {report.usage.total_tokens} tokens) run {report.run_id}"]
    if report.error:
        lines.append(f"   error: {report.error}")
    for q in report.queries:
        lines.append(f"   ? {q.target} [{q.query.merge.value}, scope {q.query.scope.value}] {q.question}")
        if q.error:
            lines.append(f"     failed: {q.error}")
            continue
        lines.append(f"     answer: {_short(q.answer) or '(nothing known)'}")
        if q.change is not None:
            c = q.change
            lines.append(f"     before: {_short(c.current_value)}")
            lines.append(f"     after:  {_short(c.proposed_value)}")
            lines.append(f"     diff {c.diff_id}{' (already pending)' if c.reused else ''}"
                         f"{' - ' + c.note if c.note else ''}")
        elif q.held_back is not None:
            h = q.held_back
            note = f", saying {_short(h.note, 120)!r}" if h.note else ""
            lines.append(f"     held back: {_short(h.value)} ({h.reason}{note}; diff {h.diff_id})")
        elif q.skipped_reason:
            lines.append(f"     no change: {q.skipped_reason}")
    if report.thread_chat_id:
        lines.append(f"   thread: {report.thread_chat_id}")
    return "\n".join(lines)


def render_run(report: TaskRunReport, *, details: bool = True) -> str:
    parts = [render_student(s) for s in report.students] if details else []
    parts.append(summary_table(report))
    return "\n".join(parts)


def summary_table(report: TaskRunReport) -> str:
    rows = [
        ("task", report.task),
        ("course", report.course_id),
        ("trigger", report.trigger),
        ("students", str(len(report.students))),
        ("succeeded", str(report.succeeded)),
        ("failed", str(report.failed)),
        ("skipped (already running)", str(report.skipped)),
        ("diffs proposed", str(report.diffs_proposed)),
        ("held back (already decided)", str(report.held_back)),
        ("tokens", str(report.usage.total_tokens)),
        ("time", f"{report.duration:.2f}s"),
    ]
    width = max(len(k) for k, _ in rows)
    lines = ["-" * (width + 20)] + [f"{k.ljust(width)}  {v}" for k, v in rows]
    failures = [(s.user_id, "; ".join(s.errors())) for s in report.students if s.status == "failed"]
    if failures:
        lines.append("failures:")
        lines.extend(f"  {user}: {_short(error, 400)}" for user, error in failures)
    return "\n".join(lines)
