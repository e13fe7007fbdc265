"""LLM access behind one small interface (see `base.LLM`), with its two implementations side by side."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..errors import ConfigError, ConfigIssue
from .base import LLM, ChatMessage, Completion, LLMError, Usage
from .openai_http import OpenAICompatibleLLM
from .openwebui import OpenWebUILLM

if TYPE_CHECKING:
    from ..settings import Settings

__all__ = [
    "LLM",
    "ChatMessage",
    "Completion",
    "LLMError",
    "Usage",
    "OpenAICompatibleLLM",
    "OpenWebUILLM",
    "make_llm",
]


def make_llm(settings: Settings, *, inside_openwebui: bool = False, user_id: str | None = None) -> LLM:
    """The LLM the settings describe.

    Inside Open WebUI: `OpenWebUILLM(settings.llm_model, user_id)` (the admin's configured model, run as `user_id`).
    Outside: `OpenAICompatibleLLM(settings.llm_base_url, key, settings.llm_model)`. Missing settings raise
    ConfigError naming the setting.
    """
    issues: list[ConfigIssue] = []
    if not settings.llm_model:
        issues.append(ConfigIssue("settings", "llm_model", "no model id set (YOULAB_LLM_MODEL)"))
    if inside_openwebui:
        if not user_id:
            issues.append(ConfigIssue("settings", "user_id", "an Open WebUI user id is needed to call its models"))
        if issues:
            raise ConfigError(issues)
        return OpenWebUILLM(settings.llm_model, str(user_id))
    if not settings.llm_base_url:
        issues.append(
            ConfigIssue("settings", "llm_base_url", "no OpenAI-compatible endpoint set (YOULAB_LLM_BASE_URL)")
        )
    if issues:
        raise ConfigError(issues)
    return OpenAICompatibleLLM(
        settings.llm_base_url,
        settings.llm_api_key.get_secret_value(),
        settings.llm_model,
        timeout=settings.call_timeout_seconds,
    )
