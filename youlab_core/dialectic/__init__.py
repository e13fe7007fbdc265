"""Answers questions about a student: Honcho when configured, else the LLM over their own Open WebUI chats."""

from .base import Answer, Dialectic, DialecticError
from .budget import estimate_tokens, take_newest
from .embedded import EmbeddedDialectic
from .factory import make_dialectic
from .honcho import HonchoDialectic
from .ids import TUTOR_PEER_ID, honcho_id, honcho_peer_id, honcho_session_id
from .inprocess import InProcessMessageSource
from .rest import RestMessageSource
from .scope import AGENT_MODEL_PREFIX, course_chats, is_agent_chat, is_course_chat, select_chats
from .source import ChatSummary, HistoryMessage, MessageSource, branch_messages, messages_from_chat_body

__all__ = [
    "AGENT_MODEL_PREFIX",
    "Answer",
    "ChatSummary",
    "Dialectic",
    "DialecticError",
    "EmbeddedDialectic",
    "HistoryMessage",
    "HonchoDialectic",
    "InProcessMessageSource",
    "MessageSource",
    "RestMessageSource",
    "TUTOR_PEER_ID",
    "branch_messages",
    "course_chats",
    "estimate_tokens",
    "honcho_id",
    "honcho_peer_id",
    "honcho_session_id",
    "is_agent_chat",
    "is_course_chat",
    "make_dialectic",
    "messages_from_chat_body",
    "select_chats",
    "take_newest",
]
