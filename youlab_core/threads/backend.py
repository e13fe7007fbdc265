"""Where chats and folders live: a small async interface with implementations side by side.

- `OpenWebUIChats` (openwebui.py): inside Open WebUI (or any process with its DATA_DIR/DATABASE_URL), through
  `open_webui.models`.
  (No REST writer: Open WebUI 0.12's REST API creates folders and chats only for the caller.)
- `MemoryChats` (below): in memory, for unit tests and benchmarks of the code above it.

Lookups return None for "does not exist" and RAISE when the store cannot be read: the read-only guard must know
the difference to fail closed.
"""

from __future__ import annotations

import abc
import copy
import itertools
import uuid
from typing import Any

from .model import ChatRecord, FolderRecord


class ChatBackend(abc.ABC):
    @abc.abstractmethod
    async def get_chat(self, chat_id: str) -> ChatRecord | None:
        """Any user's chat by id (None: no such chat)."""

    async def get_chat_marks(self, chat_id: str) -> ChatRecord | None:
        """The chat without its JSON (`chat` is empty): owner, title, meta, folder, archived. What the read-only
        guard reads on every message; a backend with a cheaper read than get_chat overrides it."""
        return await self.get_chat(chat_id)

    @abc.abstractmethod
    async def get_folder(self, folder_id: str) -> FolderRecord | None: ...

    @abc.abstractmethod
    async def list_folders(self, user_id: str) -> list[FolderRecord]: ...

    @abc.abstractmethod
    async def create_folder(self, user_id: str, name: str, meta: dict[str, Any]) -> FolderRecord: ...

    @abc.abstractmethod
    async def create_chat(
        self, user_id: str, chat: dict[str, Any], *, folder_id: str | None, meta: dict[str, Any],
        chat_id: str | None = None,
    ) -> ChatRecord:
        """Create a chat (with `chat_id` when given, so a retried write can find what it already created)."""

    @abc.abstractmethod
    async def update_chat_json(self, chat_id: str, changes: dict[str, Any]) -> None:
        """Replace top-level keys of the chat JSON (history included: the caller sends the whole history)."""

    @abc.abstractmethod
    async def archive_chat(self, chat_id: str) -> None:
        """Archive (idempotent: an archived chat stays archived). Open WebUI clears folder_id when archiving."""


class MemoryChats(ChatBackend):
    """Chats and folders in a dict. Behaves like Open WebUI where it matters here (archiving clears folder_id)."""

    def __init__(self) -> None:
        self.chats: dict[str, ChatRecord] = {}
        self.folders: dict[str, FolderRecord] = {}
        self.fail: bool = False  # tests set this to make every call raise, like a broken database
        self._seq = itertools.count()

    def _check(self) -> None:
        if self.fail:
            raise RuntimeError("chat database unavailable (MemoryChats.fail)")

    async def get_chat(self, chat_id: str) -> ChatRecord | None:
        self._check()
        return self.chats.get(chat_id)

    async def get_folder(self, folder_id: str) -> FolderRecord | None:
        self._check()
        return self.folders.get(folder_id)

    async def list_folders(self, user_id: str) -> list[FolderRecord]:
        self._check()
        return [f for f in self.folders.values() if f.user_id == user_id]

    async def create_folder(self, user_id: str, name: str, meta: dict[str, Any]) -> FolderRecord:
        self._check()
        if any(f.user_id == user_id and f.parent_id is None and f.name.lower() == name.lower() for f in self.folders.values()):
            raise ValueError(f"folder {name!r} already exists")
        folder = FolderRecord(id=str(uuid.uuid4()), user_id=user_id, name=name, meta=dict(meta))
        self.folders[folder.id] = folder
        return folder

    async def create_chat(self, user_id: str, chat: dict[str, Any], *, folder_id: str | None, meta: dict[str, Any],
                          chat_id: str | None = None) -> ChatRecord:
        self._check()
        record = ChatRecord(
            id=chat_id or str(uuid.uuid4()), user_id=user_id, title=str(chat.get("title", "New Chat")), chat=copy.deepcopy(chat),
            meta=copy.deepcopy(meta), folder_id=folder_id,
        )
        self.chats[record.id] = record
        next(self._seq)
        return record

    async def update_chat_json(self, chat_id: str, changes: dict[str, Any]) -> None:
        self._check()
        old = self.chats[chat_id]
        changes = copy.deepcopy(changes)
        if "history" in changes:  # like Open WebUI: messages are upserted into the stored history, not replaced
            history = copy.deepcopy(old.chat.get("history") or {})
            messages = history.setdefault("messages", {})
            for mid, message in (changes.pop("history").get("messages") or {}).items():
                messages[mid] = {**messages.get(mid, {}), **message}
            changes["history"] = history
        self.chats[chat_id] = ChatRecord(
            id=old.id, user_id=old.user_id, title=old.title, chat={**old.chat, **changes},
            meta=old.meta, folder_id=old.folder_id, archived=old.archived,
        )

    async def archive_chat(self, chat_id: str) -> None:
        self._check()
        old = self.chats[chat_id]
        self.chats[chat_id] = ChatRecord(
            id=old.id, user_id=old.user_id, title=old.title, chat=old.chat, meta=old.meta, folder_id=None, archived=True,
        )

    # Test helpers: what a student can do in the UI.
    def move(self, chat_id: str, folder_id: str | None) -> None:
        old = self.chats[chat_id]
        self.chats[chat_id] = ChatRecord(old.id, old.user_id, old.title, old.chat, old.meta, folder_id, old.archived)

    def rename(self, chat_id: str, title: str) -> None:
        old = self.chats[chat_id]
        self.chats[chat_id] = ChatRecord(old.id, old.user_id, title, {**old.chat, "title": title}, old.meta, old.folder_id, old.archived)

    def unarchive(self, chat_id: str) -> None:
        """Like Open WebUI's unarchive: back in the chat list, outside any folder."""
        old = self.chats[chat_id]
        self.chats[chat_id] = ChatRecord(old.id, old.user_id, old.title, old.chat, old.meta, old.folder_id, False)

    def delete_chat(self, chat_id: str) -> None:
        del self.chats[chat_id]

    def delete_folder(self, folder_id: str) -> None:
        """Like Open WebUI's default: the folder's chats are deleted with it."""
        del self.folders[folder_id]
        for chat_id in [c.id for c in self.chats.values() if c.folder_id == folder_id]:
            del self.chats[chat_id]

    def update_folder(self, folder_id: str, *, name: str | None = None, meta: dict[str, Any] | None = None) -> None:
        """Rename and/or shallow-merge meta, as Open WebUI's folder update does."""
        old = self.folders[folder_id]
        self.folders[folder_id] = FolderRecord(old.id, old.user_id, name if name is not None else old.name,
                                               {**old.meta, **(meta or {})}, old.parent_id)
