"""Writing run threads: the agent's folder (youlab_core.threads.folders), one chat per (run, student), the registry
entry, archiving older runs that have nothing left to decide, and re-rendering a report after the student decides.

Nothing goes missing: a retried run rewrites its own thread with its final report, a failed run archives nothing, an
older thread is archived only when none of its changes is still pending, and a pending change whose thread is gone
(the student deleted the chat or its folder) is listed again in the next thread of its agent, with its buttons.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from .backend import ChatBackend
from .folders import AgentFolders
from .model import (
    AGENT_TYPE,
    META_KEY,
    REPORT_KEY,
    ChatRecord,
    FolderRecord,
    ThreadRef,
    agent_model_id,
    thread_title,
)
from .report import Change, ThreadReport, render_report

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


def report_diff_ids(chat: ChatRecord, *, pending_only: bool = False) -> set[str]:
    """The change ids a thread's report lists (with `pending_only`: those it last showed as pending)."""
    data = chat.chat.get(REPORT_KEY) if isinstance(chat.chat, dict) else None
    changes = data.get("changes") if isinstance(data, dict) else None
    if not isinstance(changes, list):
        return set()
    return {str(c["diff_id"]) for c in changes
            if isinstance(c, dict) and c.get("diff_id") and (not pending_only or c.get("status", "pending") == "pending")}


def run_chat_id(run_id: str, user_id: str, task: str) -> str:
    """One chat id per (run, student): a retried run, or a retried write, finds the thread it already made."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"youlab-run-thread:{run_id}:{user_id}:{task}"))


def _report_message_id(chat: ChatRecord) -> str:
    data = chat.chat.get(REPORT_KEY) if isinstance(chat.chat, dict) else None
    stored = data.get("message_id") if isinstance(data, dict) else None
    history = chat.chat.get("history") if isinstance(chat.chat, dict) else None
    current = history.get("currentId") if isinstance(history, dict) else None
    return str(stored or current or uuid.uuid4())


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
        self._registry = registry
        self.folders = AgentFolders(backend, registry)
        self.archive_old_threads = archive_old_threads
        self.now = now

    @property
    def registry(self) -> ThreadRegistry | None:
        return self._registry

    @registry.setter
    def registry(self, registry: ThreadRegistry | None) -> None:
        # The bundle hands the state store in once it is open; the folders are recorded in the same store.
        self._registry = registry
        self.folders.registry = registry

    async def ensure_folder(self, user_id: str, task: str, agent_name: str, course_id: str) -> FolderRecord:
        return await self.folders.ensure(user_id, task, agent_name, course_id, self.now())

    async def _earlier_threads(self, user_id: str, task: str, chat_id: str) -> list[ChatRecord]:
        """This student's other open threads of the agent that still exist (the registry lists them, newest first).
        A thread a run found with nothing left to decide is closed and not read again: without that, every
        run read every earlier thread's whole chat, a cost that grew with each run (Open WebUI's CPU per run went
        from 95 ms to 320 ms over 180 runs of one student; now it stays near 60 ms)."""
        if self.registry is None:
            return []
        found = []
        for thread in self.registry.threads_for(user_id, task=task, open_only=True):
            if thread.chat_id != chat_id and (chat := await self.backend.get_chat(thread.chat_id)) is not None:
                found.append(chat)
        return found

    async def write_run(
        self, user_id: str, report: ThreadReport, *, pending: Sequence[Change] | None = None, failed: bool = False,
    ) -> ThreadRef:
        """Write the run's thread in the agent's folder (or rewrite it, when this run wrote one before), register
        it, and close (archiving them first, unless turned off) older threads of the agent that have nothing left
        to decide.

        `pending`: the agent's changes still pending for this student in the memory store, after this run (None:
        unknown). Those no existing thread lists are added to this report. `failed`: the run failed; it archives
        nothing (the earlier thread may be the last good one)."""
        folder = await self.ensure_folder(user_id, report.task, report.agent, report.course)
        created = self.now()
        title = thread_title(report.agent, created)
        chat_id = run_chat_id(report.run_id, user_id, report.task) if report.run_id else str(uuid.uuid4())
        existing = await self.backend.get_chat(chat_id)
        earlier = await self._earlier_threads(user_id, report.task, chat_id)
        carried: list[Change] = []
        if pending is not None:
            listed = {c.diff_id for c in report.changes}.union(*(report_diff_ids(c) for c in earlier))
            carried = [c for c in pending if c.diff_id not in listed]
            report = replace(report, changes=[*report.changes, *carried])
        if existing is None:
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
            chat = await self.backend.create_chat(
                user_id, report_chat_json(report, title=title, message_id=message_id, now=created.timestamp()),
                folder_id=folder.id, meta=meta, chat_id=chat_id,
            )
        else:
            # A retry of this run: its final report replaces what the failed attempt wrote, in the same message.
            chat, message_id = existing, _report_message_id(existing)
            fresh = report_chat_json(report, title=existing.title, message_id=message_id, now=created.timestamp())
            await self.backend.update_chat_json(chat_id, {k: fresh[k] for k in ("models", "history", "messages", REPORT_KEY)})
        if self.registry is not None:
            self.registry.register_thread(chat.id, user_id, report.task, report.course, report.run_id, created,
                                          narrative=report.narrative())
        archived = await self._close_decided(earlier, pending, user_id, report.task) if not failed else []
        return ThreadRef(
            chat_id=chat.id, folder_id=chat.folder_id or folder.id, message_id=message_id, title=chat.title,
            user_id=user_id, task=report.task, course=report.course, run_id=report.run_id, archived=tuple(archived),
            carried=tuple(c.diff_id for c in carried), rewritten=existing is not None,
        )

    async def _close_decided(self, earlier: list[ChatRecord], pending: Sequence[Change] | None, user_id: str,
                             task: str) -> list[str]:
        """Close the earlier threads none of whose changes is pending (by the memory store when `pending` is known,
        else by what each report last showed): later runs do not read them again. Those still in the chat list are
        archived first (`archive_old_threads`); returns the ids archived now."""
        pending_ids = {c.diff_id for c in pending} if pending is not None else None
        decided: list[str] = []
        archived: list[str] = []
        for chat in earlier:
            open_ids = (report_diff_ids(chat) & pending_ids if pending_ids is not None
                        else report_diff_ids(chat, pending_only=True))
            if open_ids:
                continue  # the student still has something to decide there
            if self.archive_old_threads and not chat.archived:
                try:
                    await self.backend.archive_chat(chat.id)
                    archived.append(chat.id)
                except Exception:  # an old thread that vanished or cannot be archived must not fail the new run
                    log.warning("could not archive old thread %s of %s/%s", chat.id, user_id, task, exc_info=True)
                    continue  # still open: the next run tries again
            decided.append(chat.id)
        if decided and self.registry is not None:
            self.registry.close_threads(decided, self.now())
        return archived

    async def load_report(self, chat_id: str) -> tuple[ChatRecord, ThreadReport, str]:
        """The thread's chat, its structured report and the id of the report message. LookupError if not a thread."""
        chat = await self.backend.get_chat(chat_id)
        if chat is None:
            raise LookupError(f"no chat {chat_id}")
        data = chat.chat.get(REPORT_KEY)
        if not isinstance(data, dict):
            raise LookupError(f"chat {chat_id} holds no agent report")
        return chat, ThreadReport.from_dict(data), _report_message_id(chat)

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
