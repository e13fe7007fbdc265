"""`ThreadReport`: the structured record of one agent run shown in a student's run thread, and its Markdown rendering.

A copy of the structure sits in the thread's chat JSON (`chat["youlab_report"]`), but that copy is only a view:
`report_from_server` rebuilds a thread's report from the server's records (the thread registry and the memory store's
diffs of the run), and the review re-renders from that, so an edited chat JSON never decides anything.

Students read plain words: a failed question or run shows `plain_problem`'s sentence; the technical error stays in
the run record and the log, where an admin looks.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, timezone
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ..memory.values import value_text

STATUS_LABELS = {
    "pending": "⏳ pending your review",
    "approved": "✅ approved",
    "rejected": "❌ rejected",
    "superseded": "↪️ superseded by a newer approved change",
    "stale": "⚠️ stale: the field changed since this was proposed",
    "expired": "⌛ expired",
    "undone": "↩️ undone: you took this change back",
}


def when_text(at: datetime | str, zone: str | None = None) -> str:
    """How a time reads to a student, always naming its zone: "Nov 26, 2026 14:20 UTC", or in their own zone when
    it is known ("Nov 26, 2026 09:20 EST"; Open WebUI keeps each user's browser time zone in `user.timezone`).
    An unknown or empty zone reads as UTC."""
    moment = datetime.fromisoformat(at) if isinstance(at, str) else at
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    tz: Any = timezone.utc
    if zone:
        try:
            tz = ZoneInfo(zone)
        except (ZoneInfoNotFoundError, ValueError):  # a name this machine does not know: say UTC rather than guess
            tz = timezone.utc
    local = moment.astimezone(tz)
    name = local.tzname() or "UTC"
    shown = name if name.isalpha() else (zone or "UTC")  # "+03" says less than "Europe/Istanbul"
    return f"{local:%b} {local.day}, {local.year} {local:%H:%M} {shown}"


@dataclass(frozen=True)
class Finding:
    """One question the agent asked, where the answer goes, and what it learned."""

    question: str
    target: str  # block.field
    answer: str
    error: str = ""  # why there is no answer (the dialectic failed), shown instead


@dataclass(frozen=True)
class Change:
    """One proposed change of a field, as the student will approve it."""

    diff_id: str
    target: str  # block.field
    before: str
    after: str
    status: str = "pending"
    reason: str = ""  # the insight it came from
    note: str = ""  # the student's note on the decision
    merge: str = ""  # append / replace / llm_diff


@dataclass(frozen=True)
class ThreadReport:
    task: str
    agent: str  # display name
    course: str
    run_id: str
    created_at: str  # ISO 8601
    findings: list[Finding] = field(default_factory=list)
    changes: list[Change] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # what went wrong without stopping the run
    held_back: list[str] = field(default_factory=list)  # values not proposed again: the student already decided

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def narrative(self) -> dict[str, Any]:
        """What the report says beyond its changes, kept in the thread registry (report_from_server reads it back)."""
        return {"findings": [asdict(f) for f in self.findings], "problems": list(self.problems),
                "held_back": list(self.held_back)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ThreadReport:
        return cls(
            task=str(data["task"]),
            agent=str(data["agent"]),
            course=str(data["course"]),
            run_id=str(data["run_id"]),
            created_at=str(data["created_at"]),
            findings=[Finding(**f) for f in data.get("findings", [])],
            changes=[Change(**c) for c in data.get("changes", [])],
            problems=[str(p) for p in data.get("problems", [])],
            held_back=[str(h) for h in data.get("held_back", [])],
        )

    def with_decisions(self, decisions: dict[str, tuple[str, str]]) -> ThreadReport:
        """A copy with `diff_id -> (status, note)` applied."""
        changes = [
            replace(c, status=decisions[c.diff_id][0], note=decisions[c.diff_id][1] or c.note) if c.diff_id in decisions else c
            for c in self.changes
        ]
        return replace(self, changes=changes)

    @property
    def pending(self) -> list[Change]:
        return [c for c in self.changes if c.status == "pending"]


# What a student reads when a question or a run failed (the technical error is in the run record and the log).
UNREACHABLE = "The agent could not reach its memory service; it will try again on its next run."
TOO_SLOW = "The agent waited too long for an answer; it will try again on its next run."
WENT_WRONG = ("Something went wrong on our side; the agent will try again on its next run. "
              "Your teacher or administrator can see the details.")
PLAIN_PROBLEMS = (UNREACHABLE, TOO_SLOW, WENT_WRONG)
_SLOW_WORDS = ("timed out", "timeout")
_UNREACHABLE_WORDS = ("connect", "unreachable", "unavailable", "refused", "honcho", "dialectic", "network",
                      "name resolution", "502", "503", "504")


def plain_problem(error: str) -> str:
    """The sentence a student reads for a technical error (already plain sentences pass through unchanged)."""
    if error in PLAIN_PROBLEMS:
        return error
    lowered = error.lower()
    if any(word in lowered for word in _SLOW_WORDS):
        return TOO_SLOW
    if any(word in lowered for word in _UNREACHABLE_WORDS):
        return UNREACHABLE
    return WENT_WRONG


def _shown_problem(problem: str) -> str:
    # "`block.field`: why no change" lines are written for the student (a skipped question); anything else is a
    # run's error, which may be technical.
    return problem if problem.startswith("`") else plain_problem(problem)


def _learned(reasoning: str) -> str:
    """What the agent learned, from a diff's reasoning ("Asked: <question>\nLearned: <answer>", as the runner writes it)."""
    head, sep, tail = reasoning.partition("\nLearned: ")
    return tail if sep and head.startswith("Asked: ") else reasoning


def _status(diff: Any) -> str:
    status = getattr(diff, "status", "pending")
    return str(getattr(status, "value", status))


def _stored_findings(narrative: dict[str, Any]) -> list[Finding]:
    return [Finding(question=str(f["question"]), target=str(f.get("target") or ""), answer=str(f.get("answer") or ""),
                    error=str(f.get("error") or ""))
            for f in narrative.get("findings") or [] if isinstance(f, dict) and f.get("question")]


def report_from_server(
    *, task: str, agent: str, course: str, run_id: str, created_at: datetime, diffs: Sequence[Any],
    problems: Sequence[str] = (), narrative: dict[str, Any] | None = None,
) -> ThreadReport:
    """A thread's report from the server's records only: the registry's thread (task, course, run, time, and the
    narrative the writer stored: every question with what was learned, problems, values held back) and the memory
    store's diffs shown in it (duck-typed `PendingDiff`s, in the order given). Each change's text, status and the
    student's note come from its diff. A thread stored without a narrative (before schema version 7) shows, as
    findings, the question each diff answered and what was learned."""
    if narrative:
        stored = [str(p) for p in narrative.get("problems") or []]
        problems = [*stored, *(p for p in problems if p not in stored)]
    findings = _stored_findings(narrative) if narrative else [
        Finding(question=str(getattr(d, "source_query", "") or ""), target=d.target,
                answer=_learned(str(getattr(d, "reasoning", "") or ""))) for d in diffs]
    changes = [
        Change(diff_id=d.id, target=d.target, before=value_text(d.current_value), after=value_text(d.proposed_value),
               status=_status(d), reason=str(getattr(d, "reasoning", "") or ""),
               note=str(getattr(d, "review_note", "") or ""),
               merge=str(getattr(getattr(d, "operation", ""), "value", getattr(d, "operation", "")) or ""))
        for d in diffs
    ]
    held_back = [str(h) for h in (narrative or {}).get("held_back") or []]
    return ThreadReport(task=task, agent=agent, course=course, run_id=run_id, created_at=created_at.isoformat(),
                        findings=[f for f in findings if f.question], changes=changes, problems=list(problems),
                        held_back=held_back)


def _fence(text: str) -> str:
    """A code fence longer than any backtick run inside `text`, so content can never close it early."""
    longest = run = 0
    for ch in text:
        run = run + 1 if ch == "`" else 0
        longest = max(longest, run)
    return "`" * max(3, longest + 1)


def _as_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return "\n".join(f"- {v}" for v in value)
    return json.dumps(value, ensure_ascii=False, default=str)


def render_diff(before: str, after: str) -> str:
    """A unified diff of the field's text, line by line; a one-line field shows as -old/+new."""
    lines = list(
        difflib.unified_diff(_as_text(before).splitlines(), _as_text(after).splitlines(), "before", "after", lineterm="", n=2)
    )
    body = "\n".join(lines[2:]) if len(lines) > 2 else "(no change)"
    fence = _fence(body)
    return f"{fence}diff\n{body}\n{fence}"


def render_report(report: ThreadReport) -> str:
    try:
        when = when_text(report.created_at)
    except ValueError:  # a report stored before its time was ISO 8601: its date as written
        when = report.created_at[:10]
    out: list[str] = [f"## {report.agent}: run of {when}", ""]
    if report.findings:
        out += ["### What I asked and learned", ""]
        for i, f in enumerate(report.findings, 1):
            out.append(f"**{i}. {f.question}** (for `{f.target}`)")
            out.append("")
            if f.error:
                out.append(f"> No answer: {plain_problem(f.error)}")
            else:
                out += [f"> {line}" if line else ">" for line in (f.answer.strip() or "(nothing new)").splitlines()]
            out.append("")
    out += ["### Proposed changes", ""]
    if not report.changes:
        out += ["No changes proposed this time.", ""]
    for c in report.changes:
        status = STATUS_LABELS.get(c.status, c.status)
        out.append(f"#### `{c.target}`: {status}")
        out.append("")
        out.append(f"Change id: `{c.diff_id}`" + (f" · merge: {c.merge}" if c.merge else ""))
        out.append("")
        out.append(render_diff(c.before, c.after))
        if c.note:
            out += ["", f"Your note: {c.note}"]
        out.append("")
    if report.problems:
        out += ["### Problems during this run", ""] + [f"- {_shown_problem(p)}" for p in report.problems] + [""]
    pending = len(report.pending)
    if pending:
        out.append(
            f"_{pending} change{'s' if pending != 1 else ''} waiting for you: use the Approve / Reject / Review buttons "
            "under this message. Nothing changes in your memory until you approve._"
        )
    elif report.changes:
        out.append("_Every change in this report has been decided._")
    if report.held_back:  # details, after the main text: what the agent did not ask the student again
        out += ["", "_Not proposed again, because you already decided:_"] + [f"- _{line}_" for line in report.held_back]
    out.append("")
    # Open WebUI's Markdown shows raw HTML as text, so the footer is plain Markdown.
    out.append(f"*Run `{report.run_id}` · course `{report.course}` · agent `{report.task}`*")
    return "\n".join(out).rstrip() + "\n"
