"""Reading a student's chats inside Open WebUI (0.12): `open_webui.models.chats.Chats`, imported lazily so this
module loads without Open WebUI."""

from __future__ import annotations

from .source import ChatSummary, HistoryMessage, MessageSource, branch_messages, summary_from_chat


class InProcessMessageSource(MessageSource):
    async def list_chats(self, user_id: str) -> list[ChatSummary]:
        from open_webui.models.chats import Chats

        # Includes archived chats (the student's words there still count); Open WebUI leaves out its internal chats.
        result = await Chats.get_chats_by_user_id(user_id)
        chats = [summary_from_chat(chat.model_dump()) for chat in result.items]
        return sorted(chats, key=lambda c: (c.updated_at, c.id), reverse=True)

    async def messages(self, user_id: str, chat_id: str) -> list[HistoryMessage]:
        from open_webui.models.chats import Chats

        chat = await Chats.get_chat_by_id(chat_id)
        if chat is None or chat.user_id != user_id:
            return []
        # The normalised chat_message rows when present (Open WebUI's own fast path), else the chat's JSON history.
        messages_map = await Chats.get_messages_map_by_chat_id(chat_id) or {}
        current = chat.current_message_id or Chats.get_current_message_id(chat.chat)
        return branch_messages(messages_map, current)
