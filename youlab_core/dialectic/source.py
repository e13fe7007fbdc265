"""Where the embedded dialectic (and Honcho's scope selection) read a student's Open WebUI chats from.

`MessageSource` is the interface; `InProcessMessageSource` (inside Open WebUI) and `RestMessageSource` (over the
REST API, for the CLI) implement it in their own modules. Both return the same plain data below.
"""

from __future__ import annotations

import abc
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Literal

Role = Literal["user", "assistant"]


@dataclass(frozen=True)
class ChatSummary:
    """One chat of a student: enough to decide whether a query may read it."""

    id: str
    title: str = ""
    models: tuple[str, ...] = ()
    updated_at: datetime = datetime.fromtimestamp(0, timezone.utc)
    meta: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class HistoryMessage:
    role: Role
    content: str
    at: datetime | None = None


class MessageSource(abc.ABC):
    """Reads a student's chats."""

    @abc.abstractmethod
    async def list_chats(self, user_id: str) -> list[ChatSummary]:
        """Every chat the student owns (archived ones too), most recently updated first."""

    @abc.abstractmethod
    async def messages(self, user_id: str, chat_id: str) -> list[HistoryMessage]:
        """The chat's current branch, oldest first, user and assistant messages only. [] if the chat is not theirs."""


def epoch_to_datetime(value: Any) -> datetime:
    """Open WebUI stores seconds since the epoch (chat rows) or sometimes milliseconds/nanoseconds; normalise."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return datetime.fromtimestamp(0, timezone.utc)
    while number > 1e11:  # ms, µs or ns
        number /= 1000
    return datetime.fromtimestamp(number, timezone.utc)


def summary_from_chat(row: Mapping[str, Any]) -> ChatSummary:
    """A ChatSummary from an Open WebUI chat row (`ChatModel.model_dump()` or the REST `ChatResponse`)."""
    body = row.get("chat") or {}
    models = body.get("models") or []
    if isinstance(models, str):
        models = [models]
    return ChatSummary(
        id=str(row["id"]),
        title=str(row.get("title") or body.get("title") or ""),
        models=tuple(str(m) for m in models if m),
        updated_at=epoch_to_datetime(row.get("updated_at")),
        meta=dict(row.get("meta") or {}),
    )


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):  # multimodal: [{"type": "text", "text": ...}, {"type": "image_url", ...}]
        return "\n".join(str(p.get("text", "")) for p in content if isinstance(p, dict) and p.get("type") == "text")
    return ""


def branch_messages(messages_map: Mapping[str, Any], current_id: str | None) -> list[HistoryMessage]:
    """The current branch of an Open WebUI history (`history.messages` + `currentId`), oldest first.

    Follows `parentId` links from `current_id` like Open WebUI's `get_message_list`; with no current id the newest
    message (by timestamp) is the leaf. Only user and assistant messages with text are kept.
    """
    if not messages_map:
        return []
    if not current_id or current_id not in messages_map:
        current_id = max(messages_map, key=lambda k: float((messages_map[k] or {}).get("timestamp") or 0))
    chain: list[Mapping[str, Any]] = []
    seen: set[str] = set()
    message_id: str | None = current_id
    while message_id and message_id in messages_map and message_id not in seen:
        seen.add(message_id)
        message = messages_map[message_id] or {}
        chain.append(message)
        message_id = message.get("parentId")
    result: list[HistoryMessage] = []
    for message in reversed(chain):
        role = message.get("role")
        text = _text(message.get("content")).strip()
        if role in ("user", "assistant") and text:
            at = epoch_to_datetime(message["timestamp"]) if message.get("timestamp") else None
            result.append(HistoryMessage(role=role, content=text, at=at))
    return result


def messages_from_chat_body(body: Mapping[str, Any]) -> list[HistoryMessage]:
    """The current branch of a chat's JSON body (`chat.chat`), falling back to the legacy `messages` list."""
    history = body.get("history")
    if not isinstance(history, dict):
        history = {}
    messages_map = history.get("messages") or {}
    if messages_map:
        return branch_messages(messages_map, history.get("currentId"))
    legacy = body.get("messages") or []
    return [
        HistoryMessage(role=m["role"], content=_text(m.get("content")).strip())
        for m in legacy
        if isinstance(m, dict) and m.get("role") in ("user", "assistant") and _text(m.get("content")).strip()
    ]
