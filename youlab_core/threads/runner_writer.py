"""The runner's `ThreadWriter` protocol on top of `ThreadWriter`: turns a runner StudentReport into a ThreadReport.

Read duck-typed (runner.StudentReport / QueryReport / ProposedChange field names), so this module does not import
the runner and the runner does not import Open WebUI.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, timezone
from typing import Any

from .model import ThreadRef
from ..memory.values import value_text
from .report import Change, Finding, ThreadReport, plain_problem
from .writer import ThreadWriter


def _value(obj: Any) -> str:
    return str(getattr(obj, "value", obj))


def run_report_from_student_report(course: Any, task: Any, report: Any) -> ThreadReport:
    findings: list[Finding] = []
    changes: list[Change] = []
    problems: list[str] = []
    for q in getattr(report, "queries", []) or []:
        query = getattr(q, "query", None)
        target = getattr(query, "target", "") or getattr(getattr(q, "change", None), "target", "")
        # The chat JSON is readable by its student over the API: it holds the plain sentence, never the technical
        # error (that stays in the run record and the log).
        error = plain_problem(getattr(q, "error", "") or "") if getattr(q, "error", "") else ""
        findings.append(Finding(
            question=getattr(q, "question", "") or getattr(query, "question", ""), target=target,
            answer=value_text(getattr(q, "answer", "")), error=error,
        ))
        skipped = getattr(q, "skipped_reason", "") or ""
        if skipped:
            problems.append(f"`{target}`: {skipped}")
        change = getattr(q, "change", None)
        if change is not None and getattr(change, "diff_id", None):
            changes.append(Change(
                diff_id=str(change.diff_id), target=getattr(change, "target", target),
                before=value_text(getattr(change, "current_value", "")), after=value_text(getattr(change, "proposed_value", "")),
                status="pending", reason=value_text(getattr(change, "reasoning", "")), merge=_value(getattr(change, "operation", "")),
            ))
    if getattr(report, "error", ""):
        problems.append(plain_problem(str(report.error)))
    held_back = [f"`{h.target}`: {value_text(h.value)} ({h.reason})" for h in (getattr(report, "held_back", None) or [])]
    started = getattr(report, "started_at", None) or datetime.now(timezone.utc)
    return ThreadReport(
        task=task.name, agent=task.title, course=course.id, run_id=str(getattr(report, "run_id", "")),
        created_at=started.isoformat() if isinstance(started, datetime) else str(started),
        findings=findings, changes=changes, problems=problems, held_back=held_back,
    )


def pending_changes(diffs: Any) -> list[Change] | None:
    """The memory store's pending diffs (PendingDiff field names) as report changes; None stays None (unknown)."""
    if diffs is None:
        return None
    return [
        Change(diff_id=str(d.id), target=str(getattr(d, "target", "")), before=value_text(getattr(d, "current_value", "")),
               after=value_text(getattr(d, "proposed_value", "")), status="pending", reason=value_text(getattr(d, "reasoning", "")),
               merge=_value(getattr(d, "operation", "")))
        for d in diffs
    ]


class RunnerThreadWriter:
    """`await write(user_id, course, task, student_report) -> chat_id`, as the runner calls it. The report's
    `pending_diffs` (the agent's pending diffs, read after the run) and its status decide what the writer carries
    over and archives (youlab_core.threads.writer)."""

    def __init__(self, writer: ThreadWriter, after_write: Callable[[str, str], Awaitable[None]] | None = None):
        self.writer = writer
        self.after_write = after_write  # (user_id, course_id): refreshes the student's memory view
        self.last: ThreadRef | None = None

    async def write(self, user_id: str, course: Any, task: Any, report: Any) -> str | None:
        thread = run_report_from_student_report(course, task, report)
        pending = pending_changes(getattr(report, "pending_diffs", None))
        ref = await self.writer.write_run(user_id, thread, pending=pending,
                                          failed=getattr(report, "status", "") == "failed")
        self.last = ref
        if self.after_write is not None and (thread.changes or pending):
            await self.after_write(user_id, course.id)
        return ref.chat_id
