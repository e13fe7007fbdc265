"""The REST resources of `OpenWebUIClient`, one small class each (functions, models, users, groups, folders, chats).

Open WebUI 0.12 quirks these classes absorb:
- A missing function or chat answers 401 with detail "We could not find what you're looking for :/" (not 404);
  getters turn exactly that into None, while a real 401 (bad token, not admin) still raises.
- Toggles (`functions/.../toggle`, `.../toggle/global`, `chats/.../archive`) flip the state: the `set_*` methods
  read the state first and toggle only when it differs, so calling them twice is harmless.
- Valves: `valves/update` REPLACES the stored valves with exactly the keys sent; `merge_valves` reads first.
- Model records: `model/update` does not touch access grants; `set_access` does.
"""

from __future__ import annotations

import builtins  # annotations below a method named `list` must name the built-in type explicitly
from typing import TYPE_CHECKING, Any

from .errors import OpenWebUIError

if TYPE_CHECKING:
    from .client import OpenWebUIClient

_NOT_FOUND_TEXT = "could not find"


def _is_not_found(exc: OpenWebUIError) -> bool:
    return exc.status == 404 or (exc.status == 401 and _NOT_FOUND_TEXT in str(exc.detail).lower())


class _API:
    def __init__(self, client: OpenWebUIClient) -> None:
        self._c = client

    async def _get_or_none(self, path: str, params: dict[str, Any] | None = None) -> Any:
        try:
            return await self._c.request("GET", path, params=params)
        except OpenWebUIError as exc:
            if _is_not_found(exc):
                return None
            raise


class FunctionsAPI(_API):
    """`/api/v1/functions` (admin only). Never `/sync`."""

    base = "/api/v1/functions"

    async def list(self) -> list[dict[str, Any]]:
        """Every function, without content: id, name, type, meta, is_active, is_global."""
        return await self._c.request("GET", f"{self.base}/") or []

    async def get(self, function_id: str) -> dict[str, Any] | None:
        """One function with its content, or None."""
        return await self._get_or_none(f"{self.base}/id/{function_id}")

    async def create(self, function_id: str, name: str, content: str, description: str = "") -> dict[str, Any]:
        """A new function (Open WebUI creates it inactive and not global; it runs the module once to check it)."""
        form = {"id": function_id, "name": name, "content": content, "meta": {"description": description}}
        return await self._c.request("POST", f"{self.base}/create", json=form)

    async def update(self, function_id: str, name: str, content: str, description: str = "") -> dict[str, Any]:
        form = {"id": function_id, "name": name, "content": content, "meta": {"description": description}}
        return await self._c.request("POST", f"{self.base}/id/{function_id}/update", json=form)

    async def delete(self, function_id: str) -> bool:
        return bool(await self._c.request("DELETE", f"{self.base}/id/{function_id}/delete"))

    async def set_active(self, function_id: str, active: bool) -> dict[str, Any]:
        """Make the function active or inactive; toggles only when the current state differs."""
        return await self._set_flag(function_id, "is_active", active, "toggle")

    async def set_global(self, function_id: str, is_global: bool) -> dict[str, Any]:
        """Make a filter global (runs for every model) or not; toggles only when the current state differs."""
        return await self._set_flag(function_id, "is_global", is_global, "toggle/global")

    async def _set_flag(self, function_id: str, flag: str, wanted: bool, action: str) -> dict[str, Any]:
        current = await self.get(function_id)
        if current is None:
            raise OpenWebUIError("GET", f"{self.base}/id/{function_id}", 404, f"no function {function_id!r}")
        if bool(current.get(flag)) == wanted:
            return current
        return await self._c.request("POST", f"{self.base}/id/{function_id}/{action}")

    async def get_valves(self, function_id: str) -> dict[str, Any]:
        """The stored valve values (only those ever set; the rest take the class defaults)."""
        return await self._c.request("GET", f"{self.base}/id/{function_id}/valves") or {}

    async def valves_spec(self, function_id: str) -> dict[str, Any] | None:
        """The JSON schema of the function's Valves (None when it has none)."""
        return await self._c.request("GET", f"{self.base}/id/{function_id}/valves/spec")

    async def update_valves(self, function_id: str, values: dict[str, Any]) -> dict[str, Any]:
        """Store exactly `values` as the valves (keys left out go back to their defaults)."""
        return await self._c.request("POST", f"{self.base}/id/{function_id}/valves/update", json=values) or {}

    async def merge_valves(self, function_id: str, changes: dict[str, Any]) -> dict[str, Any]:
        """Set some valves and keep the others as stored."""
        merged = {**await self.get_valves(function_id), **changes}
        return await self.update_valves(function_id, merged)


class ModelsAPI(_API):
    """`/api/models` (what a user may call) and `/api/v1/models` (model records)."""

    base = "/api/v1/models"

    async def available(self, refresh: bool = False) -> list[dict[str, Any]]:
        """The models the signed-in user can use, as `/api/models` lists them (hidden ones included)."""
        body = await self._c.request("GET", "/api/models", params={"refresh": "true"} if refresh else None)
        return list((body or {}).get("data", []))

    async def get(self, model_id: str) -> dict[str, Any] | None:
        """One model record, or None. Readers without write access get `params` emptied by Open WebUI."""
        try:
            return await self._c.request("GET", f"{self.base}/model", params={"id": model_id}, none_if=(404,))
        except OpenWebUIError as exc:
            if _is_not_found(exc):
                return None
            raise

    async def records(self) -> list[dict[str, Any]]:
        """Every model record (admin)."""
        return await self._c.request("GET", f"{self.base}/all") or []

    async def create(self, form: dict[str, Any]) -> dict[str, Any]:
        """A model record: {id, name, base_model_id, meta, params, access_grants, is_active}."""
        return await self._c.request("POST", f"{self.base}/create", json=form)

    async def update(self, form: dict[str, Any]) -> dict[str, Any]:
        """Replace a record's name, base_model_id, meta and params (the full form). Grants: `set_access`."""
        return await self._c.request("POST", f"{self.base}/model/update", json=form)

    async def set_access(self, model_id: str, grants: list[dict[str, Any]], name: str | None = None) -> dict[str, Any]:
        """Replace the record's access grants, e.g. [{"principal_type":"user","principal_id":"*","permission":"read"}].

        For a connection's model without a record yet, Open WebUI (admin) creates a minimal record named `name`."""
        form: dict[str, Any] = {"id": model_id, "access_grants": grants}
        if name:
            form["name"] = name
        return await self._c.request("POST", f"{self.base}/model/access/update", json=form)

    async def delete(self, model_id: str) -> bool:
        return bool(await self._c.request("POST", f"{self.base}/model/delete", json={"id": model_id}))


class UsersAPI(_API):
    async def add(self, name: str, email: str, password: str, role: str = "user") -> dict[str, Any]:
        """Admin: create an account. Returns {id, email, name, role, token} (the token signs in as that user)."""
        form = {"name": name, "email": email, "password": password, "role": role}
        return await self._c.request("POST", "/api/v1/auths/add", json=form)

    async def list(self, query: str | None = None) -> list[dict[str, Any]]:
        """Admin: every user (all pages), each with `group_ids`."""
        users: list[dict[str, Any]] = []
        page = 1
        while True:
            params: dict[str, Any] = {"page": page}
            if query:
                params["query"] = query
            body = await self._c.request("GET", "/api/v1/users/", params=params) or {}
            batch = body.get("users", [])
            users.extend(batch)
            if not batch or len(users) >= int(body.get("total", 0)):
                return users
            page += 1

    async def get(self, user_id: str) -> dict[str, Any] | None:
        return await self._get_or_none(f"/api/v1/users/{user_id}")

    async def find_by_email(self, email: str) -> dict[str, Any] | None:
        wanted = email.strip().lower()
        return next((u for u in await self.list(query=wanted) if u.get("email", "").lower() == wanted), None)


class GroupsAPI(_API):
    base = "/api/v1/groups"

    async def list(self) -> list[dict[str, Any]]:
        """Admin: every group (id, name, description, member_count...); others: the groups they are in."""
        return await self._c.request("GET", f"{self.base}/") or []

    async def create(self, name: str, description: str = "") -> dict[str, Any]:
        return await self._c.request("POST", f"{self.base}/create", json={"name": name, "description": description})

    async def add_users(self, group_id: str, user_ids: builtins.list[str]) -> dict[str, Any]:
        return await self._c.request("POST", f"{self.base}/id/{group_id}/users/add", json={"user_ids": user_ids})

    async def member_ids(self, group_id: str) -> set[str]:
        users = await self._c.request("POST", f"{self.base}/id/{group_id}/users") or []
        return {u["id"] for u in users}

    async def member_ids_by_name(self, name: str) -> set[str]:
        """Members of every group called `name` (case-insensitive); empty when no group has that name."""
        members: set[str] = set()
        for group in await self.list():
            if group.get("name", "").lower() == name.lower():
                members |= await self.member_ids(group["id"])
        return members


class FoldersAPI(_API):
    base = "/api/v1/folders"

    async def create(
        self,
        name: str,
        meta: dict[str, Any] | None = None,
        data: dict[str, Any] | None = None,
        parent_id: str | None = None,
    ) -> dict[str, Any]:
        """A folder of the signed-in user. HTTP 400 "Folder already exists" when the name is taken there."""
        form: dict[str, Any] = {"name": name, "parent_id": parent_id}
        if meta is not None:
            form["meta"] = meta
        if data is not None:
            form["data"] = data
        return await self._c.request("POST", f"{self.base}/", json=form)

    async def get(self, folder_id: str) -> dict[str, Any] | None:
        """One folder with its full meta and data, or None."""
        return await self._get_or_none(f"{self.base}/{folder_id}")

    async def update(
        self,
        folder_id: str,
        *,
        name: str | None = None,
        meta: dict[str, Any] | None = None,
        data: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Rename and/or shallow-merge meta/data."""
        form = {k: v for k, v in {"name": name, "meta": meta, "data": data}.items() if v is not None}
        return await self._c.request("POST", f"{self.base}/{folder_id}/update", json=form)

    async def list(self) -> list[dict[str, Any]]:
        """The signed-in user's folders (Open WebUI trims meta to {icon} here: use `get` for the full meta)."""
        return await self._c.request("GET", f"{self.base}/") or []

    async def delete(self, folder_id: str) -> bool:
        return bool(await self._c.request("DELETE", f"{self.base}/{folder_id}"))


class ChatsAPI(_API):
    base = "/api/v1/chats"

    async def new(self, chat: dict[str, Any], folder_id: str | None = None) -> dict[str, Any]:
        return await self._c.request("POST", f"{self.base}/new", json={"chat": chat, "folder_id": folder_id})

    async def import_chats(self, chats: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """POST /import: each item {chat, folder_id, meta, archived, pinned, created_at, updated_at}."""
        return await self._c.request("POST", f"{self.base}/import", json={"chats": chats}) or []

    async def import_one(
        self,
        chat: dict[str, Any],
        *,
        folder_id: str | None = None,
        meta: dict[str, Any] | None = None,
        archived: bool = False,
        pinned: bool = False,
        created_at: int | None = None,
        updated_at: int | None = None,
    ) -> dict[str, Any]:
        """One chat with its `meta` set (the only REST way to set chat.meta)."""
        item: dict[str, Any] = {
            "chat": chat,
            "folder_id": folder_id,
            "meta": meta or {},
            "archived": archived,
            "pinned": pinned,
        }
        if created_at is not None:
            item["created_at"] = created_at
        if updated_at is not None:
            item["updated_at"] = updated_at
        (created,) = await self.import_chats([item])
        return created

    async def get(self, chat_id: str) -> dict[str, Any] | None:
        """A chat the signed-in user may read, or None (missing and not-yours look the same)."""
        return await self._get_or_none(f"{self.base}/{chat_id}")

    async def update(self, chat_id: str, chat: dict[str, Any]) -> dict[str, Any]:
        """Replace top-level keys of the chat JSON (Open WebUI merges `history`)."""
        return await self._c.request("POST", f"{self.base}/{chat_id}", json={"chat": chat})

    async def list(self, page: int | None = None) -> list[dict[str, Any]]:
        """The signed-in user's chats outside folders, unarchived (id, title, updated_at...)."""
        return await self._c.request("GET", f"{self.base}/", params={"page": page} if page else None) or []

    async def list_by_folder(self, folder_id: str) -> builtins.list[dict[str, Any]]:
        """Full chats in a folder and its subfolders (unarchived)."""
        return await self._c.request("GET", f"{self.base}/folder/{folder_id}") or []

    async def list_archived(self) -> builtins.list[dict[str, Any]]:
        return await self._c.request("GET", f"{self.base}/archived") or []

    async def toggle_archive(self, chat_id: str) -> dict[str, Any]:
        """Flip archived (archiving also clears folder_id)."""
        return await self._c.request("POST", f"{self.base}/{chat_id}/archive")

    async def set_archived(self, chat_id: str, archived: bool) -> dict[str, Any]:
        current = await self.get(chat_id)
        if current is None:
            raise OpenWebUIError("GET", f"{self.base}/{chat_id}", 404, f"no chat {chat_id!r}")
        if bool(current.get("archived")) == archived:
            return current
        return await self.toggle_archive(chat_id)

    async def move_to_folder(self, chat_id: str, folder_id: str | None) -> dict[str, Any]:
        """Move into a folder, or out of every folder with None."""
        return await self._c.request("POST", f"{self.base}/{chat_id}/folder", json={"folder_id": folder_id})

    async def delete(self, chat_id: str) -> bool:
        return bool(await self._c.request("DELETE", f"{self.base}/{chat_id}"))
