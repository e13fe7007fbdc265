"""The student's memory view: one read-only chat per (student, course), "Your memory - <course>", that shows what
the tutor knows about them (docs/memory-view.md).

This module holds what the view IS (its data, its Markdown, its chat JSON and its markers); the bundle gathers
the data from the memory store and the thread registry and writes the chat (youlab_core.bundle.memory_view).
The chat is registered in the thread registry under the task `MEMORY_TASK` (a name no course task can have: task
names are slugs), so the read-only guard, the write guard and the page's read-only view treat it as an agent
thread, while the run-thread code (which asks the registry per task) never sees it.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from .model import AGENT_TYPE, META_KEY, REPORT_KEY, agent_model_id
from .report import _fence, render_diff, when_text

MEMORY_TASK = "youlab:memory"  # the registry's task for a memory view; ':' is not allowed in a course task name
VIEW_KIND = "memory_view"  # chat.meta.youlab.kind
VIEW_AGENT = "Your memory"  # what the read-only refusal calls the writer of this chat


def memory_chat_id(user_id: str, course_id: str) -> str:
    """One chat id per (student, course): every refresh finds the chat it made."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"youlab-memory-view:{user_id}:{course_id}"))


def view_title(course_name: str) -> str:
    return f"Your memory \u2014 {course_name}"


@dataclass(frozen=True)
class FieldView:
    block: str
    field: str
    label: str  # the field's description from course.toml (its key when it has none)
    value: str
    changed_at: str = ""  # ISO 8601; "" = never changed (the course's default)
    changed_by: str = ""  # "you", an agent's name, "<agent> (approved by you)"


@dataclass(frozen=True)
class BlockView:
    name: str
    title: str
    description: str
    fields: tuple[FieldView, ...]


@dataclass(frozen=True)
class RunView:
    chat_id: str
    title: str
    created_at: str
    archived: bool = False


@dataclass(frozen=True)
class AgentView:
    task: str
    name: str
    description: str
    pending: int
    runs: tuple[RunView, ...] = ()


@dataclass(frozen=True)
class PendingView:
    diff_id: str
    label: str  # "<block title>: <field description>"
    agent: str
    before: str
    after: str
    where: str = ""  # chat id of the run thread that lists it; "" = its thread was archived or deleted


@dataclass(frozen=True)
class MemoryViewData:
    user_id: str
    course_id: str
    course_name: str
    blocks: tuple[BlockView, ...]
    agents: tuple[AgentView, ...]
    pending: tuple[PendingView, ...]
    extra: tuple[str, ...] = field(default=())  # sections an action adds (a field's history, a download link)
    zone: str | None = None  # the student's time zone (Open WebUI's user.timezone); None: times read as UTC
    looked: str = ""  # "Who looked at your memory" (teachers' and admins' reads, youlab_core.bundle.dashboard_access)

    def to_dict(self) -> dict[str, Any]:
        return {"user_id": self.user_id, "course": self.course_id, "pending": [p.diff_id for p in self.pending]}


def _quote(text: str) -> str:
    if not text.strip():
        return "_(empty)_"
    if "\n" not in text and len(text) <= 200:
        return text
    fence = _fence(text)
    return f"\n{fence}\n{text}\n{fence}"


def _when(iso: str, zone: str | None) -> str:
    """"Nov 26, 2026 14:20 UTC" (or in the student's zone), as the field's history writes it; "" when never changed."""
    return when_text(iso, zone) if iso else ""


def render_view(data: MemoryViewData) -> str:
    """The view's one message: what the tutor knows, the agents, and what waits for the student's decision."""
    out = [f"## What your {data.course_name} tutor knows about you", "",
           "Only changes you approved or made yourself are here; the tutor reads exactly this. Use the buttons under "
           "this message: **History**, **Undo a change**, **Edit a field**, **Download my data**, and Approve / "
           "Reject / Review for changes that wait for you.", ""]
    for extra in data.extra:
        out += [extra.rstrip(), ""]
    for block in data.blocks:
        out += [f"### {block.title}", ""]
        if block.description:
            out += [f"_{block.description}_", ""]
        for f in block.fields:
            changed = (f"changed {_when(f.changed_at, data.zone)} by {f.changed_by}" if f.changed_at
                       else "not changed yet")
            out += [f"- **{f.label}**: {_quote(f.value)}", f"  _{changed}_"]
        out.append("")
    out += ["### Background agents", ""]
    if not data.agents:
        out += ["This course has no background agents.", ""]
    for agent in data.agents:
        badge = f" · **{agent.pending} waiting for you**" if agent.pending else ""
        out += [f"#### {agent.name}{badge}", ""]
        if agent.description:
            out += [agent.description, ""]
        if agent.runs:
            out.append("Runs, newest first:")
            for run in agent.runs:
                shown = f"[{run.title}](/c/{run.chat_id})"
                out.append(f"- {shown}" + (" (archived)" if run.archived else ""))
        else:
            out.append("No runs yet.")
        out.append("")
    out += ["### Changes waiting for you", ""]
    if not data.pending:
        out += ["Nothing waits for your decision.", ""]
    for p in data.pending:
        where = (f"also in [its agent's report](/c/{p.where})" if p.where
                 else "its report was archived or deleted: decide it here")
        out += [f"#### {p.label}", "", f"Proposed by {p.agent}; {where}.", "", render_diff(p.before, p.after), ""]
    out += [data.looked.rstrip(), ""] if data.looked else []
    return "\n".join(out).rstrip() + "\n"


def view_meta(data: MemoryViewData) -> dict[str, Any]:
    return {META_KEY: {"type": AGENT_TYPE, "kind": VIEW_KIND, "task": MEMORY_TASK, "agent": VIEW_AGENT,
                       "course": data.course_id}}


def view_model() -> str:
    """The message's model: the view's own hidden model (youlab_core/bundle/view_models.py), whose record lists the
    view's buttons, so its header says "Your memory" and no agent report carries these buttons."""
    return agent_model_id(MEMORY_TASK)


def view_chat_json(data: MemoryViewData, *, model: str, message_id: str, now: float | None = None) -> dict[str, Any]:
    ts = int(now if now is not None else time.time())
    message: dict[str, Any] = {"id": message_id, "parentId": None, "childrenIds": [], "role": "assistant",
               "content": render_view(data), "model": model, "modelName": VIEW_AGENT, "modelIdx": 0,
               "timestamp": ts, "done": True}
    return {"title": view_title(data.course_name), "models": [model], "params": {},
            "history": {"currentId": message_id, "messages": {message_id: message}}, "messages": [message],
            "tags": [], "files": [], "timestamp": ts * 1000, REPORT_KEY: {**data.to_dict(), "kind": VIEW_KIND,
                                                                         "message_id": message_id}}
