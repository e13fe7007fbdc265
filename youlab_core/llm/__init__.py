"""LLM access behind one small interface (see `base.LLM`)."""

from .base import LLM, ChatMessage, Completion, LLMError, Usage

__all__ = ["LLM", "ChatMessage", "Completion", "LLMError", "Usage"]
