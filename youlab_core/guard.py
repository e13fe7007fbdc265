"""The read-only guard: is this chat an agent thread?

A chat is an agent thread when ANY of these says so:
  registry  the state store's thread registry lists the chat id;
  meta      the chat's `meta.youlab.type` is "background_agent";
  folder    the chat sits in a folder whose meta type is "background_agent".
Each source survives different things: archiving clears folder_id (registry and meta still hold), moving or
renaming changes nothing but the folder, a message sent through the API instead of the browser is checked the same
way because only the chat id matters, not what the client claims.

The chat's model is not a source: an admin's own chat with an agent model (a manual run, answered by the agent) is
an ordinary chat. A clone, a fork or an import of a thread keeps its meta (Open WebUI copies the owner's chat meta),
so it is read-only too; it is a copy, not the record, and only registered threads can be reviewed.

Failure rules (docs/bundle.md):
- the state store broken: the registry is skipped (logged) and the chat record decides (meta, folder);
- Open WebUI's chat tables unreadable: the registry decides; if the request's own model is an agent model the chat
  is treated as an agent thread;
- nothing readable at all: treated as an agent thread (fail closed). Counting fails open; this guard does not.
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import TYPE_CHECKING

from .threads.backend import ChatBackend
from .threads.model import AgentThreadInfo, task_of_model

if TYPE_CHECKING:  # annotations only: importing the guard does not load the state package (SQLAlchemy)
    from .state import ThreadRegistry

log = logging.getLogger(__name__)

NOT_REGISTERED_CACHE = 20000  # chat ids remembered as "not in the registry" (a cache: evicted ids are looked up again)
# An ordinary chat's verdict is reused this long: one message asks twice (the write guard, then the filter's inlet),
# and a chat only becomes a thread by moving into an agent folder, which may then take this long to count.
ORDINARY_VERDICT_SECONDS = 2.0

READ_ONLY_MESSAGE = (
    "This thread is written by the background agent {name} and is read-only. "
    "Review its suggestions with the buttons under its report."
)


def read_only_message(info: AgentThreadInfo) -> str:
    return READ_ONLY_MESSAGE.format(name=info.agent)


def is_unsaved_chat_id(chat_id: str | None) -> bool:
    """No chat row to look up: no id, Open WebUI's temporary chats ("local:..."), channels."""
    return not chat_id or chat_id.startswith(("local:", "channel:"))


class AgentThreadGuard:
    def __init__(
        self,
        backend: ChatBackend | None,
        registry: ThreadRegistry | None,
        agent_name: Callable[[str], str | None] = lambda task: None,
    ):
        self.backend = backend
        self.registry = registry  # the state store's thread registry; None when the store could not be opened
        self.agent_name = agent_name  # task -> display name from the course registry
        # Chat ids the registry did not list. Safe to remember: a run thread is always a NEW chat, registered right
        # after it is created, so a chat someone already wrote into never becomes one. Meta, folder and model are
        # still checked on every message.
        self._not_registered: OrderedDict[str, None] = OrderedDict()
        self._ordinary: OrderedDict[str, float] = OrderedDict()  # chat id -> when it was last found ordinary

    def _remember_ordinary(self, chat_id: str) -> None:
        self._ordinary[chat_id] = time.monotonic()
        if len(self._ordinary) > NOT_REGISTERED_CACHE:
            self._ordinary.popitem(last=False)

    def _recently_ordinary(self, chat_id: str) -> bool:
        seen = self._ordinary.get(chat_id)
        return seen is not None and time.monotonic() - seen < ORDINARY_VERDICT_SECONDS

    def _remember_not_registered(self, chat_id: str) -> None:
        self._not_registered[chat_id] = None
        if len(self._not_registered) > NOT_REGISTERED_CACHE:
            self._not_registered.popitem(last=False)

    async def is_agent_thread(self, chat_id: str | None, user_id: str | None = None, *, model_id: str | None = None) -> AgentThreadInfo | None:
        if is_unsaved_chat_id(chat_id):
            return None
        assert chat_id is not None
        if self._recently_ordinary(chat_id):
            return None
        sources: list[str] = []
        errors: list[str] = []
        task = course = owner = run_id = agent = None

        if self.registry is not None and chat_id not in self._not_registered:
            try:
                record = self.registry.thread(chat_id)
            except Exception:
                log.exception("read-only guard: the thread registry could not be read for chat %s; other sources decide", chat_id)
                errors.append("registry")
            else:
                if record is not None:
                    sources.append("registry")
                    task, course, owner, run_id = record.task, record.course_id, record.user_id, record.run_id
                else:
                    self._remember_not_registered(chat_id)

        if self.backend is not None:
            try:
                chat = await self.backend.get_chat_marks(chat_id)  # meta and folder, not the history
                if chat is not None:
                    owner = owner or chat.user_id
                    meta = chat.youlab_meta
                    if meta is not None:
                        sources.append("meta")
                        task = task or meta.get("task")
                        course = course or meta.get("course")
                        run_id = run_id or meta.get("run_id")
                        agent = meta.get("agent")
                    if chat.folder_id:
                        folder = await self.backend.get_folder(chat.folder_id)
                        if folder is not None and folder.agent_task:
                            sources.append("folder")
                            task = task or folder.agent_task
                            course = course or (folder.meta or {}).get("course")
            except Exception:
                log.exception("read-only guard: chat %s could not be read from Open WebUI", chat_id)
                errors.append("chat")
        else:
            errors.append("chat")

        if not sources and errors:
            request_task = task_of_model(model_id)
            nothing_readable = "chat" in errors and ("registry" in errors or self.registry is None)
            if request_task or nothing_readable:
                # Fail closed: the sources that could prove otherwise are unreadable.
                sources.append("request-model" if request_task else "unverifiable")
                task = request_task or task
        if not sources:
            if not errors:
                self._remember_ordinary(chat_id)  # only a verdict every source gave: never a fail-open shortcut
            return None
        task = task or "unknown"
        name = agent or self.agent_name(task) or (task if task != "unknown" else "(unknown)")
        return AgentThreadInfo(
            chat_id=chat_id, task=task, agent=name, course=course, user_id=owner, run_id=run_id,
            sources=tuple(sources), errors=tuple(errors),
        )
