"""The LLM interface every part of the library talks to.

Two implementations stand behind it: `OpenAICompatibleLLM` (any OpenAI-compatible endpoint over httpx, for the CLI,
the scheduler process and the tests) and `OpenWebUILLM` (inside Open WebUI: the models the admin configured).
"""

from __future__ import annotations

import abc
from dataclasses import dataclass, field
from typing import Literal, TypedDict

from ..errors import YoulabError


class ChatMessage(TypedDict):
    role: Literal["system", "user", "assistant"]
    content: str


@dataclass(frozen=True)
class Usage:
    prompt_tokens: int = 0
    completion_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    def __add__(self, other: Usage) -> Usage:
        return Usage(self.prompt_tokens + other.prompt_tokens, self.completion_tokens + other.completion_tokens)


@dataclass(frozen=True)
class Completion:
    text: str
    model: str = ""
    usage: Usage | None = None  # None when the backend does not report it
    extra: dict = field(default_factory=dict)


class LLM(abc.ABC):
    """Turns a list of chat messages into one reply."""

    @abc.abstractmethod
    async def complete(
        self,
        messages: list[ChatMessage],
        *,
        timeout: float | None = None,
        max_tokens: int | None = None,
        temperature: float | None = None,
    ) -> Completion:
        """Return the model's reply. Raises `LLMError` (with `transient` set for timeouts, 429 and 5xx)."""


class LLMError(YoulabError):
    """An LLM call failed. `transient` errors (timeouts, 429, 5xx) are worth retrying.

    `status`: the HTTP status, when there was one. `retry_after`: seconds the server asked us to wait (its
    Retry-After header), when it said.
    """

    def __init__(
        self, message: str, *, transient: bool = False, status: int | None = None, retry_after: float | None = None
    ):
        super().__init__(message, transient=transient, retry_after=retry_after)
        self.status = status
