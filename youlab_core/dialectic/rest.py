"""Reading a student's chats over Open WebUI's REST API with an admin key (the CLI, outside Open WebUI).

Uses the admin endpoints `GET /api/v1/chats/list/user/{user_id}?page=N` (60 per page, archived included; needs
Open WebUI's ENABLE_ADMIN_CHAT_ACCESS, on by default) and `GET /api/v1/chats/{id}`. The list carries no model ids,
so each chat is fetched once to learn them; bodies are kept in a small LRU so `messages()` does not fetch again.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from typing import Any

from .base import DialecticError
from .source import ChatSummary, HistoryMessage, MessageSource, messages_from_chat_body, summary_from_chat

PAGE_SIZE = 60  # Open WebUI's fixed page size for this endpoint
MAX_PAGES = 1000  # a safety stop against a server that never returns an empty page


class RestMessageSource(MessageSource):
    def __init__(self, client: Any, *, cache_size: int = 512, concurrency: int = 8):
        self.client = client  # youlab_core.openwebui.OpenWebUIClient with an admin token
        self._cache: OrderedDict[str, dict[str, Any]] = OrderedDict()
        self._cache_size = cache_size
        self._limit = asyncio.Semaphore(concurrency)

    async def list_chats(self, user_id: str) -> list[ChatSummary]:
        ids: list[str] = []
        for page in range(1, MAX_PAGES + 1):
            rows = await self._get(f"/api/v1/chats/list/user/{user_id}", params={"page": page}) or []
            ids.extend(str(r["id"]) for r in rows)
            if len(rows) < PAGE_SIZE:
                break
        rows = await asyncio.gather(*(self._chat(chat_id) for chat_id in ids))
        chats = [summary_from_chat(row) for row in rows if row and row.get("user_id") == user_id]
        return sorted(chats, key=lambda c: (c.updated_at, c.id), reverse=True)

    async def messages(self, user_id: str, chat_id: str) -> list[HistoryMessage]:
        row = self._cache.get(chat_id) or await self._chat(chat_id)
        if not row or row.get("user_id") != user_id:
            return []
        return messages_from_chat_body(row.get("chat") or {})

    async def _chat(self, chat_id: str) -> dict[str, Any] | None:
        async with self._limit:
            row = await self._get(f"/api/v1/chats/{chat_id}", none_if=(401, 404))
        if row:
            self._cache[chat_id] = row
            self._cache.move_to_end(chat_id)
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        return row

    async def _get(self, path: str, **kwargs: Any) -> Any:
        from ..openwebui.errors import OpenWebUIError

        try:
            return await self.client.request("GET", path, **kwargs)
        except OpenWebUIError as exc:
            raise DialecticError(str(exc), transient=exc.transient, status=exc.status or None,
                                 retry_after=exc.retry_after) from exc
