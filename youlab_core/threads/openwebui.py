"""`ChatBackend` inside Open WebUI 0.12 (or any process configured with its DATA_DIR / DATABASE_URL).

Open WebUI's own table helpers (`Chats.get_chat_by_id`...) swallow database errors and return None, which would
make a broken database look like "no such chat" and let the read-only guard fail open. Reads therefore query the
tables directly so errors propagate; writes use Open WebUI's helpers so its side tables (chat_message) stay in step.
Both go through youlab_core.openwebui.internals, so youlab_core stays importable without Open WebUI.
"""

from __future__ import annotations

import uuid
from typing import Any

from ..openwebui import internals as owui
from .backend import ChatBackend
from .model import ChatRecord, FolderRecord


def _chat_record(row: Any) -> ChatRecord:
    return ChatRecord(
        id=row.id, user_id=row.user_id, title=row.title or "", chat=row.chat if isinstance(row.chat, dict) else {},
        meta=row.meta if isinstance(row.meta, dict) else {}, folder_id=row.folder_id, archived=bool(row.archived),
    )


def _folder_record(row: Any) -> FolderRecord:
    return FolderRecord(
        id=row.id, user_id=row.user_id, name=row.name, meta=row.meta if isinstance(row.meta, dict) else {},
        parent_id=row.parent_id,
    )


class OpenWebUIChats(ChatBackend):
    async def get_chat(self, chat_id: str) -> ChatRecord | None:
        row = await owui.chat_row(chat_id)
        return _chat_record(row) if row is not None else None

    async def get_chat_marks(self, chat_id: str) -> ChatRecord | None:
        row = await owui.chat_marks_row(chat_id)
        if row is None:
            return None
        return ChatRecord(id=row.id, user_id=row.user_id, title=row.title or "", chat={},
                          meta=row.meta if isinstance(row.meta, dict) else {}, folder_id=row.folder_id,
                          archived=bool(row.archived))

    async def get_folder(self, folder_id: str) -> FolderRecord | None:
        row = await owui.folder_row(folder_id)
        return _folder_record(row) if row is not None else None

    async def list_folders(self, user_id: str) -> list[FolderRecord]:
        return [_folder_record(f) for f in await owui.user_folders(user_id)]

    async def create_folder(self, user_id: str, name: str, meta: dict[str, Any]) -> FolderRecord:
        created = await owui.insert_folder(user_id, name, meta)
        if created is None:
            raise RuntimeError(f"Open WebUI could not create folder {name!r} for user {user_id}")
        return _folder_record(created)

    async def create_chat(self, user_id: str, chat: dict[str, Any], *, folder_id: str | None, meta: dict[str, Any],
                          chat_id: str | None = None) -> ChatRecord:
        chat_id = chat_id or str(uuid.uuid4())
        created = await owui.insert_chat(chat_id, user_id, {**chat, "id": chat_id}, folder_id=folder_id, meta=meta)
        if created is None:
            raise RuntimeError(f"Open WebUI could not create a chat for user {user_id}")
        return _chat_record(created)

    async def update_chat_json(self, chat_id: str, changes: dict[str, Any]) -> None:
        if "history" in changes:
            # update_chat_by_id merges histories so concurrent writers keep their messages; to REPLACE a message's
            # content we upsert each changed message, then write the other keys.
            for message_id, message in (changes["history"].get("messages") or {}).items():
                saved = await owui.upsert_chat_message(chat_id, message_id, dict(message))
                if saved is None:
                    raise RuntimeError(f"Open WebUI could not update message {message_id} of chat {chat_id}")
            changes = {k: v for k, v in changes.items() if k != "history"}
        if changes and await owui.update_chat(chat_id, changes) is None:
            raise RuntimeError(f"Open WebUI could not update chat {chat_id}")

    async def archive_chat(self, chat_id: str) -> None:
        # One UPDATE: reading the row first (to archive only once) cost as much again on every run.
        await owui.archive_chat(chat_id)
