"""Gathering and writing a student's memory view ("Your memory - <course>", docs/memory-view.md).

The view's data comes only from the server: the student's git repository (blocks, their history, pending diffs)
and the state store's thread registry (the agents' run threads). `refresh` writes it into the student's chat list:
created on first use with a fixed id per (student, course), registered in the thread registry (so every read-only
guard applies) and pinned; afterwards its one message is rewritten. It is refreshed after every decision, undo and
edit, and after each run that wrote a thread for the student.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timezone
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from ..config import Course
from ..memory.diffs import PendingDiff
from ..openwebui import internals as owui
from ..threads.memory_view import (
    MEMORY_TASK,
    AgentView,
    BlockView,
    FieldView,
    MemoryViewData,
    PendingView,
    RunView,
    memory_chat_id,
    render_view,
    view_chat_json,
    view_meta,
    view_model,
)
from ..threads.model import REPORT_KEY, ChatRecord
from ..threads.openwebui import OpenWebUIChats
from ..threads.report import value_text
from .dashboard_access import who_looked
from ..threads.writer import report_diff_ids
from .memory_last_change import last_changes

if TYPE_CHECKING:
    from ..state import StateStore

log = logging.getLogger(__name__)


class ViewSources(Protocol):
    """What the view is read from and written to: a `Bundle`, or `ViewRefresher` for the runner."""

    @property
    def memory(self) -> Any: ...
    @property
    def state(self) -> StateStore | None: ...
    @property
    def backend(self) -> Any: ...
    @property
    def courses(self) -> Any: ...


Bundle = ViewSources

RUNS_SHOWN = 10  # per agent; the rest are in the agent's folder and under Archived Chats


def field_label(course: Course, block: str, field: str) -> str:
    """What the student reads for a field: its block's title and its description (keys only when there is none)."""
    spec = course.blocks.get(block)
    if spec is None:
        return f"{block}.{field}"
    fspec = spec.fields.get(field)
    described = fspec.description.rstrip(".") if fspec is not None and fspec.description else field.replace("_", " ")
    return f"{spec.title or block}: {described}"


def who(author: str, committer: str, user_id: str, names: dict[str, str]) -> str:
    """'you', an agent's name, or '<agent> (approved by you)' for a git author/committer pair."""
    if author == f"student:{user_id}":
        return "you"
    if author.startswith("agent:"):
        name = names.get(author[len("agent:"):], author[len("agent:"):])
        return f"{name} (approved by you)" if committer == f"student:{user_id}" else name
    return "YouLab"


def _blocks(memory: Any, course: Course, names: dict[str, str]) -> list[BlockView]:
    views = []
    changes = last_changes(memory, course)  # one git walk for the course, cached by HEAD (memory_last_change.py)
    for block, spec in course.blocks.items():
        values = memory.read_block(course, block).values
        last = {f: (c.at.isoformat(), who(c.author, c.committer, memory.user_id, names))
                for (b, f), c in changes.items() if b == block}
        fields = tuple(FieldView(block, name, field_label(course, block, name).split(": ", 1)[-1],
                                 value_text(values.get(name)), *last.get(name, ("", "")))
                       for name in spec.fields)
        views.append(BlockView(block, spec.title or block, spec.description, fields))
    return views


def _read_memory(memory: Any, course: Course, names: dict[str, str]) -> tuple[list[BlockView], list[PendingDiff]]:
    """Blocking: the blocks with their last change, and the course's pending diffs (oldest first)."""
    if not memory.repo.exists():
        blocks = [BlockView(b, s.title or b, s.description, tuple(
            FieldView(b, n, field_label(course, b, n).split(": ", 1)[-1], value_text(f.default))
            for n, f in s.fields.items())) for b, s in course.blocks.items()]
        return blocks, []
    pending = memory.list_diffs(status="pending", course=course.id)
    return _blocks(memory, course, names), sorted(pending, key=lambda d: (d.created_at, d.id))


async def user_zone(bundle: Bundle, user_id: str) -> str | None:
    """The student's time zone as Open WebUI keeps it (`user.timezone`, sent by their browser at every page load);
    None outside Open WebUI or when unknown (times then read as UTC, saying so)."""
    if not isinstance(bundle.backend, OpenWebUIChats):
        return None
    try:
        user = await owui.user_by_id(user_id)
    except Exception:  # the view still shows, in UTC
        log.warning("the time zone of user %s could not be read", user_id, exc_info=True)
        return None
    zone = getattr(user, "timezone", None)
    return zone if isinstance(zone, str) and zone else None


async def gather(bundle: Bundle, user_id: str, course: Course, extra: tuple[str, ...] = (),
                 zone: str | None = None) -> MemoryViewData:
    """The view's data for one student and course, from the memory store and the thread registry. `zone`: the
    student's time zone (looked up when not given)."""
    names = {t.name: t.title for t in course.tasks}
    memory = bundle.memory.student(user_id)
    blocks, pending = await asyncio.to_thread(_read_memory, memory, course, names)
    state = bundle.state
    threads = await asyncio.to_thread(state.threads_for, user_id, None, course.id) if state is not None else []
    chats: dict[str, ChatRecord] = {}
    for record in threads:
        if record.task != MEMORY_TASK and (chat := await bundle.backend.get_chat(record.chat_id)) is not None:
            chats[record.chat_id] = chat
    agents = []
    for task in course.tasks:
        runs = [RunView(r.chat_id, chats[r.chat_id].title, r.created_at.isoformat(), chats[r.chat_id].archived)
                for r in threads if r.task == task.name and r.chat_id in chats][:RUNS_SHOWN]
        agents.append(AgentView(task.name, task.title, task.description,
                                sum(1 for d in pending if d.agent == task.name), tuple(runs)))
    listed = {diff_id: chat.id for chat in chats.values() if not chat.archived for diff_id in report_diff_ids(chat)}
    shown = tuple(PendingView(d.id, field_label(course, d.block, d.field), names.get(d.agent, d.agent),
                              value_text(d.current_value), value_text(d.proposed_value), listed.get(d.id, ""))
                  for d in pending)
    zone = zone or await user_zone(bundle, user_id)
    looked = await asyncio.to_thread(who_looked, memory, course.id)  # every read by a teacher or an admin
    return MemoryViewData(user_id, course.id, course.agent.name, tuple(blocks), tuple(agents), shown, extra, zone,
                          looked)


async def _pin(bundle: Bundle, chat_id: str) -> None:
    if isinstance(bundle.backend, OpenWebUIChats):
        await owui.pin_chat(chat_id)
    else:  # MemoryChats in tests: a `pinned` set, when the test gave one
        pinned = getattr(bundle.backend, "pinned", None)
        if isinstance(pinned, set):
            pinned.add(chat_id)


async def refresh(bundle: Bundle, user_id: str, course: Course, extra: tuple[str, ...] = (),
                  zone: str | None = None) -> tuple[str, str, str]:
    """Write the student's view of `course` (create, register and pin it the first time). `extra`: sections an
    action shows on top (a field's history, a download link). Returns (chat id, message id, content)."""
    data = await gather(bundle, user_id, course, extra, zone)
    chat_id = memory_chat_id(user_id, course.id)
    model = view_model()
    existing = await bundle.backend.get_chat(chat_id)
    if existing is None or existing.user_id != user_id:
        message_id = f"memory-{chat_id}"
        now = datetime.now(timezone.utc)
        await bundle.backend.create_chat(user_id, view_chat_json(data, model=model, message_id=message_id,
                                                                 now=now.timestamp()),
                                         folder_id=None, meta=view_meta(data), chat_id=chat_id)
        if bundle.state is not None:
            await asyncio.to_thread(bundle.state.register_thread, chat_id, user_id, MEMORY_TASK, course.id, None, now)
        try:
            await _pin(bundle, chat_id)
        except Exception:  # the view still works unpinned
            log.warning("memory view %s could not be pinned", chat_id, exc_info=True)
        return chat_id, message_id, render_view(data)
    report = existing.chat.get(REPORT_KEY)
    message_id = str(report.get("message_id")) if isinstance(report, dict) and report.get("message_id") \
        else f"memory-{chat_id}"
    fresh = view_chat_json(data, model=model, message_id=message_id)
    message = fresh["history"]["messages"][message_id]
    old = (existing.chat.get("history") or {}).get("messages", {}).get(message_id)
    if isinstance(old, dict):  # keep Open WebUI's own keys of the message (its timestamp, its place in the tree)
        message = {**old, **{k: message[k] for k in ("content", "model", "modelName", "role", "done")}}
    # "models" too: a view written before it had its own model named the course's first agent
    await bundle.backend.update_chat_json(chat_id, {"history": {"messages": {message_id: message}}, "models": [model],
                                                    "messages": [message], REPORT_KEY: fresh[REPORT_KEY]})
    return chat_id, message_id, message["content"]


async def refresh_quietly(bundle: Bundle, user_id: str, course_id: str) -> None:
    """Refresh after a decision or a run; a failure is logged and never undoes what was decided."""
    try:
        await refresh(bundle, user_id, bundle.courses.course(course_id))
    except Exception:
        log.warning("memory view of %s for %s could not be refreshed", course_id, user_id, exc_info=True)


@dataclass
class ViewRefresher:
    """`await refresher(user_id, course_id)`: the runner's thread writer calls it after a run that proposed changes,
    so the view's waiting changes and runs are current without the student deciding anything first."""

    memory: Any
    state: Any
    backend: Any
    courses: Any

    async def __call__(self, user_id: str, course_id: str) -> None:
        await refresh_quietly(self, user_id, course_id)


__all__ = ["ViewRefresher", "ViewSources", "field_label", "gather", "refresh", "refresh_quietly", "user_zone", "who"]
