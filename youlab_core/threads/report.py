"""`ThreadReport`: the structured record of one agent run shown in a student's run thread, and its Markdown rendering.

The structure is stored in the thread's chat JSON (`chat["youlab_report"]`), so the message can be re-rendered
when the student approves or rejects a change without asking the runner again.
"""

from __future__ import annotations

import difflib
import json
from dataclasses import asdict, dataclass, field, replace
from typing import Any

STATUS_LABELS = {
    "pending": "⏳ pending your review",
    "approved": "✅ approved",
    "rejected": "❌ rejected",
    "superseded": "↪️ superseded by a newer approved change",
    "stale": "⚠️ stale: the field changed since this was proposed",
    "expired": "⌛ expired",
}


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

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

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
    out: list[str] = [f"## {report.agent}: run of {report.created_at[:10]}", ""]
    if report.findings:
        out += ["### What I asked and learned", ""]
        for i, f in enumerate(report.findings, 1):
            out.append(f"**{i}. {f.question}** (for `{f.target}`)")
            out.append("")
            if f.error:
                out.append(f"> No answer: {f.error}")
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
        out += ["### Problems during this run", ""] + [f"- {p}" for p in report.problems] + [""]
    pending = len(report.pending)
    if pending:
        out.append(
            f"_{pending} change{'s' if pending != 1 else ''} waiting for you: use the Approve / Reject / Review buttons "
            "under this message. Nothing changes in your memory until you approve._"
        )
    elif report.changes:
        out.append("_Every change in this report has been decided._")
    out.append("")
    # Open WebUI's Markdown shows raw HTML as text, so the footer is plain Markdown.
    out.append(f"*Run `{report.run_id}` · course `{report.course}` · agent `{report.task}`*")
    return "\n".join(out).rstrip() + "\n"
