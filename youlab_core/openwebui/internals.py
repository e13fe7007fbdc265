"""The one place youlab_core touches Open WebUI's Python internals (written for Open WebUI 0.12.4).

Everything that runs inside Open WebUI (the bundle, the in-process message source and LLM, run threads written into
Open WebUI's tables) goes through the functions here; no other module imports `open_webui`
(tests/openwebui/test_internals.py checks that, and checks every internal below against the installed Open WebUI).
So an Open WebUI upgrade is audited here: read this list against the new version's code.

`open_webui` is imported inside each function, never at module level: Open WebUI's modules read the environment
and open the database when imported, and youlab_core must import without Open WebUI installed.

Internals used (`module:attribute`; INTERNALS holds the same list for the test):
- open_webui.models.users:Users.get_super_admin_user, Users.get_user_by_id, Users.get_user_by_email,
  Users.get_users (a dict whose "users" are UserModel), UserModel.id, UserModel.role
- open_webui.models.models:Models.get_model_by_id, Models.insert_new_model, Models.update_model_by_id, ModelForm,
  ModelModel.access_grants
- open_webui.models.access_grants:AccessGrants.set_access_grants
- open_webui.models.groups:Groups.get_all_groups, Groups.get_group_user_ids_by_id, GroupModel.id, GroupModel.name
- open_webui.models.functions:Functions.get_function_valves_by_id
- open_webui.models.chats:Chats.get_chat_by_id,
  Chats.get_messages_map_by_chat_id, Chats.get_current_message_id, Chats.insert_new_chat (internal_meta=),
  Chats.upsert_message_to_chat_by_id_and_message_id, Chats.update_chat_by_id, Chats.toggle_chat_pinned_by_id,
  Chat.pinned, ChatForm, the Chat table and its columns id, user_id, title, chat, meta, folder_id, archived,
  updated_at, last_read_at (archiving writes what Chats.toggle_chat_archive_by_id writes; ChatModel has the same
  fields, plus current_message_id)
- open_webui.models.folders:Folders.get_folders_by_user_id, Folders.insert_new_folder, FolderForm, the Folder
  table and its columns id, user_id, name, meta, parent_id (FolderModel has the same fields)
- open_webui.models.files:Files.insert_new_file, FileForm, FileModel.id (a student's data download is an Open WebUI
  file they own, served by /api/v1/files/<id>/content)
- open_webui.storage.provider:Storage.upload_file (stores that file's bytes where Open WebUI keeps uploads)
- open_webui.internal.db:get_async_db_context (a session for reading the tables directly)
- open_webui.main:app, whose app.state.MODELS is the model list (filled lazily)
- open_webui.utils.models:get_all_models (fills app.state.MODELS)
- open_webui.utils.chat:generate_chat_completion (reads request.app.state, request.state.metadata and
  request.state.direct: see youlab_core.llm.openwebui.build_request)
- open_webui.utils.plugin:replace_imports (mirrored as text by stored_plugin_content: the installer runs outside
  Open WebUI)
"""

from __future__ import annotations

import importlib.util
from typing import Any

OPENWEBUI_VERSION = "0.12.4"

INTERNALS: tuple[str, ...] = (
    "open_webui.models.users:Users.get_super_admin_user",
    "open_webui.models.users:Users.get_user_by_id",
    "open_webui.models.users:Users.get_user_by_email",
    "open_webui.models.users:Users.get_users",
    "open_webui.models.users:UserModel.id",
    "open_webui.models.users:UserModel.role",
    "open_webui.models.models:Models.get_model_by_id",
    "open_webui.models.models:Models.insert_new_model",
    "open_webui.models.models:Models.update_model_by_id",
    "open_webui.models.models:ModelForm",
    "open_webui.models.models:ModelModel.access_grants",
    "open_webui.models.access_grants:AccessGrants.set_access_grants",
    "open_webui.models.groups:Groups.get_all_groups",
    "open_webui.models.groups:Groups.get_group_user_ids_by_id",
    "open_webui.models.groups:GroupModel.id",
    "open_webui.models.groups:GroupModel.name",
    "open_webui.models.functions:Functions.get_function_valves_by_id",
    "open_webui.models.chats:Chats.get_chat_by_id",
    "open_webui.models.chats:Chats.get_messages_map_by_chat_id",
    "open_webui.models.chats:Chats.get_current_message_id",
    "open_webui.models.chats:Chats.insert_new_chat",
    "open_webui.models.chats:Chats.upsert_message_to_chat_by_id_and_message_id",
    "open_webui.models.chats:Chats.update_chat_by_id",
    "open_webui.models.chats:Chats.toggle_chat_pinned_by_id",
    "open_webui.models.chats:Chat.pinned",
    "open_webui.models.chats:ChatForm",
    "open_webui.models.chats:Chat",
    *(f"open_webui.models.chats:Chat.{c}" for c in ("id", "user_id", "title", "chat", "meta", "folder_id", "archived",
                                                     "updated_at", "last_read_at")),
    *(f"open_webui.models.chats:ChatModel.{c}" for c in ("id", "user_id", "title", "chat", "meta", "folder_id",
                                                          "archived", "current_message_id", "updated_at")),
    "open_webui.models.folders:Folders.get_folders_by_user_id",
    "open_webui.models.folders:Folders.insert_new_folder",
    "open_webui.models.folders:FolderForm",
    "open_webui.models.folders:Folder",
    *(f"open_webui.models.folders:Folder.{c}" for c in ("id", "user_id", "name", "meta", "parent_id")),
    *(f"open_webui.models.folders:FolderModel.{c}" for c in ("id", "user_id", "name", "meta", "parent_id")),
    "open_webui.models.files:Files.insert_new_file",
    "open_webui.models.files:FileForm",
    "open_webui.models.files:FileModel.id",
    "open_webui.storage.provider:Storage.upload_file",
    "open_webui.internal.db:get_async_db_context",
    "open_webui.main:app",
    "open_webui.utils.models:get_all_models",
    "open_webui.utils.chat:generate_chat_completion",
    "open_webui.utils.plugin:replace_imports",
)


def installed() -> bool:
    """Whether Open WebUI is installed in this Python environment (found without importing it)."""
    return importlib.util.find_spec("open_webui") is not None


# Users -----------------------------------------------------------------------------------------------------------

async def super_admin() -> Any:
    """The first admin (UserModel), or None before anyone signed up."""
    from open_webui.models.users import Users

    return await Users.get_super_admin_user()


async def user_by_id(user_id: str) -> Any:
    from open_webui.models.users import Users

    return await Users.get_user_by_id(user_id)


async def user_by_email(email: str) -> Any:
    from open_webui.models.users import Users

    return await Users.get_user_by_email(email)


async def all_users() -> list[Any]:
    from open_webui.models.users import Users

    return list((await Users.get_users()).get("users", []))


# Models, access grants, groups, functions ------------------------------------------------------------------------

async def model_record(model_id: str) -> Any:
    """The model record (ModelModel, with .access_grants), or None."""
    from open_webui.models.models import Models

    return await Models.get_model_by_id(model_id)


async def insert_model_record(form: dict[str, Any], owner_id: str) -> Any:
    from open_webui.models.models import ModelForm, Models

    return await Models.insert_new_model(ModelForm(**form), owner_id)


async def update_model_record(model_id: str, form: dict[str, Any]) -> Any:
    from open_webui.models.models import ModelForm, Models

    return await Models.update_model_by_id(model_id, ModelForm(**form))


async def set_model_grants(model_id: str, grants: list[dict[str, Any]]) -> Any:
    from open_webui.models.access_grants import AccessGrants

    return await AccessGrants.set_access_grants("model", model_id, grants)


async def all_groups() -> list[Any]:
    """Every group (GroupModel: .id, .name)."""
    from open_webui.models.groups import Groups

    return list(await Groups.get_all_groups())


async def group_user_ids(group_id: str) -> list[str]:
    from open_webui.models.groups import Groups

    return list(await Groups.get_group_user_ids_by_id(group_id) or [])


async def function_valves(function_id: str) -> dict[str, Any] | None:
    """A function's stored valve values, or None."""
    from open_webui.models.functions import Functions

    return await Functions.get_function_valves_by_id(function_id)


# Chats and folders -----------------------------------------------------------------------------------------------

async def user_chat_summaries(user_id: str, *, without_meta_key: str | None = None) -> list[dict[str, Any]]:
    """The user's chats as rows {id, title, updated_at, meta, chat: {models}}, archived ones included and Open
    WebUI's internal chats left out (as Open WebUI's own chat list does), without loading each chat's whole JSON.
    `without_meta_key`: also leave out chats whose meta has that key (the agent threads, one more per run: every
    run reads this list, so it must not grow with the runs)."""
    from open_webui.internal.db import get_async_db_context
    from open_webui.models.chats import Chat
    from sqlalchemy import select

    stmt = (select(Chat.id, Chat.title, Chat.updated_at, Chat.meta, Chat.chat["models"].label("models"))
            .where(Chat.user_id == user_id, Chat.meta["internal"].as_boolean().is_not(True)))
    if without_meta_key:
        stmt = stmt.where(Chat.meta[without_meta_key].as_string().is_(None))  # NULL when the key is missing
    async with get_async_db_context() as session:
        rows = (await session.execute(stmt)).all()
    return [{"id": r.id, "title": r.title, "updated_at": r.updated_at, "meta": r.meta or {},
             "chat": {"models": r.models or []}} for r in rows]


async def chat_by_id(chat_id: str) -> Any:
    """The chat (ChatModel) or None. Open WebUI's helper returns None on database errors too: use chat_row where
    an error must not look like a missing chat."""
    from open_webui.models.chats import Chats

    return await Chats.get_chat_by_id(chat_id)


async def chat_messages_map(chat_id: str) -> dict[str, Any]:
    """{message id: message} from the chat_message rows when present, else the chat's JSON history."""
    from open_webui.models.chats import Chats

    return await Chats.get_messages_map_by_chat_id(chat_id) or {}


def current_message_id(chat_json: dict[str, Any]) -> str | None:
    """The id of the chat's current (last shown) message, read from its JSON."""
    from open_webui.models.chats import Chats

    return Chats.get_current_message_id(chat_json)


async def chat_row(chat_id: str) -> Any:
    """The Chat table row or None; database errors propagate (Open WebUI's helpers would swallow them)."""
    from open_webui.internal.db import get_async_db_context
    from open_webui.models.chats import Chat

    async with get_async_db_context() as session:
        return await session.get(Chat, chat_id)


async def chat_marks_row(chat_id: str) -> Any:
    """A chat's id, owner, title, meta, folder and archived flag, without its JSON (which can be large), or None;
    database errors propagate. What the read-only guard needs on every message."""
    from open_webui.internal.db import get_async_db_context
    from open_webui.models.chats import Chat
    from sqlalchemy import select

    query = select(Chat.id, Chat.user_id, Chat.title, Chat.meta, Chat.folder_id, Chat.archived).where(Chat.id == chat_id)
    async with get_async_db_context() as session:
        return (await session.execute(query)).first()


async def folder_row(folder_id: str) -> Any:
    """The Folder table row or None; database errors propagate."""
    from open_webui.internal.db import get_async_db_context
    from open_webui.models.folders import Folder

    async with get_async_db_context() as session:
        return await session.get(Folder, folder_id)


async def user_folders(user_id: str) -> list[Any]:
    from open_webui.models.folders import Folders

    return list(await Folders.get_folders_by_user_id(user_id))


async def insert_folder(user_id: str, name: str, meta: dict[str, Any]) -> Any:
    """The new FolderModel, or None when Open WebUI refused."""
    from open_webui.models.folders import FolderForm, Folders

    return await Folders.insert_new_folder(user_id, FolderForm(name=name, meta=meta))


async def insert_chat(chat_id: str, user_id: str, chat: dict[str, Any], *, folder_id: str | None,
                      meta: dict[str, Any]) -> Any:
    """The new ChatModel (its `meta` set to `meta`), or None when Open WebUI refused."""
    from open_webui.models.chats import ChatForm, Chats

    return await Chats.insert_new_chat(chat_id, user_id, ChatForm(chat=chat, folder_id=folder_id), internal_meta=meta)


async def upsert_chat_message(chat_id: str, message_id: str, message: dict[str, Any]) -> Any:
    """Replace one message of the chat (its JSON history and chat_message row); None when Open WebUI refused."""
    from open_webui.models.chats import Chats

    return await Chats.upsert_message_to_chat_by_id_and_message_id(chat_id, message_id, message)


async def update_chat(chat_id: str, changes: dict[str, Any]) -> Any:
    """Merge `changes` into the chat's JSON; None when Open WebUI refused."""
    from open_webui.models.chats import Chats

    return await Chats.update_chat_by_id(chat_id, changes)


async def archive_chat(chat_id: str) -> bool:
    """Archive the chat as Open WebUI's toggle does (archived, out of its folder, touched), in one UPDATE that leaves
    an archived chat alone; False when no unarchived chat has that id. Database errors propagate."""
    import time

    from open_webui.internal.db import get_async_db_context
    from open_webui.models.chats import Chat
    from sqlalchemy import update

    now = int(time.time())
    query = (update(Chat).where(Chat.id == chat_id, Chat.archived.is_not(True))
             .values(archived=True, folder_id=None, updated_at=now, last_read_at=now))
    async with get_async_db_context() as session:
        result = await session.execute(query)
        await session.commit()
    return bool(result.rowcount)


async def pin_chat(chat_id: str) -> None:
    """Pin the chat (Open WebUI only toggles, so read the row first; a pinned chat stays pinned)."""
    from open_webui.models.chats import Chats

    row = await chat_row(chat_id)
    if row is not None and not row.pinned:
        await Chats.toggle_chat_pinned_by_id(chat_id)


async def save_user_file(user_id: str, filename: str, data: bytes, content_type: str) -> str:
    """Store `data` as an Open WebUI file owned by `user_id` (only they and admins can read it); returns its id.
    It is served by GET /api/v1/files/<id>/content."""
    import io
    import uuid

    from open_webui.models.files import FileForm, Files
    from open_webui.storage.provider import Storage

    file_id = str(uuid.uuid4())
    _, path = Storage.upload_file(io.BytesIO(data), f"{file_id}_{filename}", {"OpenWebUI-User-Id": user_id,
                                                                              "OpenWebUI-File-Id": file_id})
    form = FileForm(id=file_id, filename=filename, path=path,
                    meta={"name": filename, "content_type": content_type, "size": len(data)})
    created = await Files.insert_new_file(user_id, form)
    if created is None:
        raise RuntimeError(f"Open WebUI could not store file {filename} for user {user_id}")
    return str(created.id)


# Calling models --------------------------------------------------------------------------------------------------

def running_app() -> Any:
    """Open WebUI's FastAPI app (already imported when we run inside Open WebUI)."""
    from open_webui.main import app

    return app


async def refresh_models(request: Any, user: Any) -> None:
    """Fill app.state.MODELS (Open WebUI fills it lazily, on the first model list request)."""
    from open_webui.utils.models import get_all_models

    await get_all_models(request, user=user)


async def chat_completion(request: Any, form_data: dict[str, Any], user: Any, *, bypass_filter: bool) -> Any:
    """Open WebUI's own completion call: a dict, or a Response-like object carrying an error status."""
    from open_webui.utils.chat import generate_chat_completion

    return await generate_chat_completion(request, form_data, user, bypass_filter=bypass_filter)


# Plugin source ---------------------------------------------------------------------------------------------------

# open_webui.utils.plugin.replace_imports rewrites these prefixes when a function is created or updated.
PLUGIN_IMPORT_REWRITES: tuple[tuple[str, str], ...] = (
    ("from utils", "from open_webui.utils"),
    ("from apps", "from open_webui.apps"),
    ("from main", "from open_webui.main"),
    ("from config", "from open_webui.config"),
)


def stored_plugin_content(content: str) -> str:
    """A function's source as Open WebUI stores it (so the installer can tell whether the stored copy is ours)."""
    for old, new in PLUGIN_IMPORT_REWRITES:
        content = content.replace(old, new)
    return content
