"""`ChatBackend` inside Open WebUI 0.12 (or any process configured with its DATA_DIR / DATABASE_URL).

Open WebUI's own table helpers (`Chats.get_chat_by_id`...) swallow database errors and return None, which would
make a broken database look like "no such chat" and let the read-only guard fail open. Reads therefore query the
tables directly so errors propagate; writes use Open WebUI's helpers so its side tables (chat_message) stay in step.
`open_webui` is imported lazily: youlab_core stays importable without it.
"""

from __future__ import annotations

import uuid
from typing import Any

from .backend import ChatBackend
from .model import ChatRecord, FolderRecord


def _owui() -> Any:
    from open_webui.internal import db
    from open_webui.models import chats, folders

    return db, chats, folders


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
        db, chats, _ = _owui()
        async with db.get_async_db_context() as session:
            row = await session.get(chats.Chat, chat_id)
            return _chat_record(row) if row is not None else None

    async def get_folder(self, folder_id: str) -> FolderRecord | None:
        db, _, folders = _owui()
        async with db.get_async_db_context() as session:
            row = await session.get(folders.Folder, folder_id)
            return _folder_record(row) if row is not None else None

    async def list_folders(self, user_id: str) -> list[FolderRecord]:
        _, _, folders = _owui()
        return [_folder_record(f) for f in await folders.Folders.get_folders_by_user_id(user_id)]

    async def create_folder(self, user_id: str, name: str, meta: dict[str, Any]) -> FolderRecord:
        _, _, folders = _owui()
        created = await folders.Folders.insert_new_folder(user_id, folders.FolderForm(name=name, meta=meta))
        if created is None:
            raise RuntimeError(f"Open WebUI could not create folder {name!r} for user {user_id}")
        return _folder_record(created)

    async def create_chat(self, user_id: str, chat: dict[str, Any], *, folder_id: str | None, meta: dict[str, Any],
                          chat_id: str | None = None) -> ChatRecord:
        _, chats, _ = _owui()
        chat_id = chat_id or str(uuid.uuid4())
        created = await chats.Chats.insert_new_chat(
            chat_id, user_id, chats.ChatForm(chat={**chat, "id": chat_id}, folder_id=folder_id), internal_meta=meta
        )
        if created is None:
            raise RuntimeError(f"Open WebUI could not create a chat for user {user_id}")
        return _chat_record(created)

    async def update_chat_json(self, chat_id: str, changes: dict[str, Any]) -> None:
        _, chats, _ = _owui()
        if "history" in changes:
            # update_chat_by_id merges histories so concurrent writers keep their messages; to REPLACE a message's
            # content we upsert each changed message, then write the other keys.
            for message_id, message in (changes["history"].get("messages") or {}).items():
                saved = await chats.Chats.upsert_message_to_chat_by_id_and_message_id(chat_id, message_id, dict(message))
                if saved is None:
                    raise RuntimeError(f"Open WebUI could not update message {message_id} of chat {chat_id}")
            changes = {k: v for k, v in changes.items() if k != "history"}
        if changes and await chats.Chats.update_chat_by_id(chat_id, changes) is None:
            raise RuntimeError(f"Open WebUI could not update chat {chat_id}")

    async def archive_chat(self, chat_id: str) -> None:
        _, chats, _ = _owui()
        current = await self.get_chat(chat_id)
        if current is None or current.archived:
            return
        if await chats.Chats.toggle_chat_archive_by_id(chat_id) is None:
            raise RuntimeError(f"Open WebUI could not archive chat {chat_id}")
