"""Writing run threads: the agent's folder (once per student and agent), one chat per run, the registry entry,
archiving older runs, and re-rendering a report after the student decides on a change."""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Callable
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from .backend import ChatBackend
from .model import (
    AGENT_TYPE,
    META_KEY,
    REPORT_KEY,
    ChatRecord,
    FolderRecord,
    ThreadRef,
    agent_model_id,
    folder_meta,
    thread_title,
)
from .report import ThreadReport, render_report

if TYPE_CHECKING:  # annotations only: importing the threads does not load the state package (SQLAlchemy)
    from ..state import ThreadRegistry

log = logging.getLogger(__name__)


def report_chat_json(report: ThreadReport, *, title: str, message_id: str, now: float | None = None) -> dict[str, Any]:
    """Open WebUI's chat JSON for a thread holding one assistant message (the report) by the agent model."""
    ts = int(now if now is not None else time.time())
    model = agent_model_id(report.task)
    message: dict[str, Any] = {
        "id": message_id,
        "parentId": None,
        "childrenIds": [],
        "role": "assistant",
        "content": render_report(report),
        "model": model,
        "modelName": report.agent,
        "modelIdx": 0,
        "timestamp": ts,
        "done": True,
    }
    return {
        "title": title,
        "models": [model],
        "params": {},
        "history": {"currentId": message_id, "messages": {message_id: message}},
        "messages": [message],
        "tags": [],
        "files": [],
        "timestamp": ts * 1000,
        REPORT_KEY: {**report.to_dict(), "message_id": message_id},
    }


class ThreadWriter:
    """Implements the runner's thread writer on top of a `ChatBackend` and the state store's thread registry."""

    def __init__(
        self,
        backend: ChatBackend,
        registry: ThreadRegistry | None,
        *,
        archive_old_threads: bool = True,
        now: Callable[[], datetime] = lambda: datetime.now(timezone.utc),
    ):
        self.backend = backend
        self.registry = registry
        self.archive_old_threads = archive_old_threads
        self.now = now
        # One lock per (user, task): two runs of one agent for one student in this process never race to create
        # the folder. Across processes the scheduler's claims already keep one run per (user, task) at a time.
        self._locks: dict[tuple[str, str], asyncio.Lock] = {}

    def _lock(self, user_id: str, task: str) -> asyncio.Lock:
        return self._locks.setdefault((user_id, task), asyncio.Lock())

    async def find_folder(self, user_id: str, task: str) -> FolderRecord | None:
        matches = [f for f in await self.backend.list_folders(user_id) if f.agent_task == task]
        return min(matches, key=lambda f: f.id) if matches else None

    async def ensure_folder(self, user_id: str, task: str, agent_name: str, course_id: str) -> FolderRecord:
        async with self._lock(user_id, task):
            found = await self.find_folder(user_id, task)
            if found is not None:
                return found
            taken = {f.name.lower() for f in await self.backend.list_folders(user_id) if f.parent_id is None}
            name = agent_name
            # The student may own a folder with the agent's name already: never write into it, pick a free name.
            suffix = 1
            while name.lower() in taken:
                suffix += 1
                name = f"{agent_name} ({suffix})" if suffix > 2 else f"{agent_name} (agent)"
            return await self.backend.create_folder(user_id, name, folder_meta(task, course_id))

    async def write_run(self, user_id: str, report: ThreadReport) -> ThreadRef:
        """Create the run's thread in the agent's folder, register it, archive older runs of the agent."""
        folder = await self.ensure_folder(user_id, report.task, report.agent, report.course)
        created = self.now()
        title = thread_title(report.agent, created)
        message_id = str(uuid.uuid4())
        meta = {
            META_KEY: {
                "type": AGENT_TYPE,
                "task": report.task,
                "agent": report.agent,
                "course": report.course,
                "run_id": report.run_id,
                "created_at": created.isoformat(),
            }
        }
        # One chat id per (run, student): a write retried after the chat was created finds it instead of
        # leaving a duplicate thread.
        chat_id = (str(uuid.uuid5(uuid.NAMESPACE_URL, f"youlab-run-thread:{report.run_id}:{user_id}:{report.task}"))
                   if report.run_id else str(uuid.uuid4()))
        chat = await self.backend.get_chat(chat_id) or await self.backend.create_chat(
            user_id, report_chat_json(report, title=title, message_id=message_id, now=created.timestamp()),
            folder_id=folder.id, meta=meta, chat_id=chat_id,
        )
        older: list[str] = []
        if self.registry is not None:
            previous = [t.chat_id for t in self.registry.threads_for(user_id, task=report.task) if t.chat_id != chat.id]
            self.registry.register_thread(chat.id, user_id, report.task, report.course, report.run_id, created)
            older = previous
        archived: list[str] = []
        if self.archive_old_threads:
            for chat_id in older:
                try:
                    await self.backend.archive_chat(chat_id)
                    archived.append(chat_id)
                except Exception:  # an old thread that vanished or cannot be archived must not fail the new run
                    log.warning("could not archive old thread %s of %s/%s", chat_id, user_id, report.task, exc_info=True)
        return ThreadRef(
            chat_id=chat.id, folder_id=folder.id, message_id=message_id, title=title, user_id=user_id,
            task=report.task, course=report.course, run_id=report.run_id, archived=tuple(archived),
        )

    async def load_report(self, chat_id: str) -> tuple[ChatRecord, ThreadReport, str]:
        """The thread's chat, its structured report and the id of the report message. LookupError if not a thread."""
        chat = await self.backend.get_chat(chat_id)
        if chat is None:
            raise LookupError(f"no chat {chat_id}")
        data = chat.chat.get(REPORT_KEY)
        if not isinstance(data, dict):
            raise LookupError(f"chat {chat_id} holds no agent report")
        message_id = str(data.get("message_id") or chat.chat.get("history", {}).get("currentId") or "")
        return chat, ThreadReport.from_dict(data), message_id

    async def rerender(self, chat_id: str, decisions: dict[str, tuple[str, str]]) -> tuple[str, str]:
        """Apply `diff_id -> (status, note)` to the stored report and rewrite the report message.
        Returns (message_id, new content)."""
        chat, report, message_id = await self.load_report(chat_id)
        updated = report.with_decisions(decisions)
        content = render_report(updated)
        history = chat.chat.get("history") or {}
        message = dict((history.get("messages") or {}).get(message_id) or {})
        message.update({"id": message_id, "content": content, "role": "assistant"})
        messages_list = [
            {**m, "content": content} if isinstance(m, dict) and m.get("id") == message_id else m
            for m in chat.chat.get("messages") or []
        ]
        await self.backend.update_chat_json(
            chat_id,
            {
                "history": {"messages": {message_id: message}},
                "messages": messages_list,
                REPORT_KEY: {**updated.to_dict(), "message_id": message_id},
            },
        )
        return message_id, content
