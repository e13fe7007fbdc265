"""Choosing the dialectic backend from the settings."""

from __future__ import annotations

from typing import Any

from ..llm.base import LLM
from .base import Dialectic
from .embedded import EmbeddedDialectic
from .honcho import HonchoDialectic
from .scope import AgentThreadCheck
from .source import MessageSource


def make_dialectic(
    settings: Any,
    *,
    llm: LLM | None,
    source: MessageSource | None,
    is_agent_thread: AgentThreadCheck | None = None,
) -> Dialectic:
    """Honcho when `settings.honcho_url` is set, else the embedded backend (which needs `llm` and `source`)."""
    if settings.honcho_url:
        return HonchoDialectic.from_settings(settings, source=source, is_agent_thread=is_agent_thread)
    if llm is None or source is None:
        from ..errors import ConfigError, ConfigIssue

        raise ConfigError([ConfigIssue("settings", "honcho_url",
                                       "no Honcho URL is set, and the embedded dialectic needs an LLM and a way to "
                                       "read Open WebUI chats (inside Open WebUI, or --openwebui-url with an admin key)")])
    return EmbeddedDialectic(
        llm,
        source,
        history_token_budget=settings.history_token_budget,
        timeout=settings.dialectic_timeout_seconds,
        is_agent_thread=is_agent_thread,
    )
