"""Reading a student's chats inside Open WebUI (0.12), through Open WebUI's own chat table helpers
(youlab_core.openwebui.internals)."""

from __future__ import annotations

from ..openwebui import internals as owui
from ..threads.model import META_KEY
from .source import ChatSummary, HistoryMessage, MessageSource, branch_messages, summary_from_chat


class InProcessMessageSource(MessageSource):
    async def list_chats(self, user_id: str) -> list[ChatSummary]:
        # Includes archived chats (the student's words there still count); Open WebUI leaves out its internal chats.
        # Agent threads are left out in the query (scope.is_agent_chat still checks what comes back).
        chats = [summary_from_chat(row) for row in await owui.user_chat_summaries(user_id, without_meta_key=META_KEY)]
        return sorted(chats, key=lambda c: (c.updated_at, c.id), reverse=True)

    async def messages(self, user_id: str, chat_id: str) -> list[HistoryMessage]:
        chat = await owui.chat_by_id(chat_id)
        if chat is None or chat.user_id != user_id:
            return []
        # The normalised chat_message rows when present (Open WebUI's own fast path), else the chat's JSON history.
        messages_map = await owui.chat_messages_map(chat_id)
        current = chat.current_message_id or owui.current_message_id(chat.chat)
        return branch_messages(messages_map, current)
