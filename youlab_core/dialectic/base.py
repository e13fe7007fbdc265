"""The dialectic interface: answer one question about one student from what they said.

Two backends stand behind it: `HonchoDialectic` (Honcho's peer chat, when a Honcho URL is configured) and
`EmbeddedDialectic` (the configured LLM reads the student's own Open WebUI messages). Both select the chats a query
may read with the same scope rules (`scope.select_chats`).
"""

from __future__ import annotations

import abc
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from ..config import Course, QuerySpec, TaskSpec
from ..errors import YoulabError
from ..llm.base import Usage
from ..prompts import PastDecision


@dataclass(frozen=True)
class Answer:
    """What the dialectic learned. `text == ""` means nothing is known (no chats in scope, or no answer)."""

    text: str
    sessions_used: tuple[str, ...] = ()  # Open WebUI chat ids read; () for Honcho's unfiltered "all"
    usage: Usage | None = None  # None when the backend does not report tokens (Honcho does not)
    duration: float = 0.0  # seconds
    # The newest student message in scope, when the run asked for it (it has earlier decisions on the field) and the
    # backend can tell: whether there is new evidence since the student last rejected a value. None: unknown.
    newest_message_at: datetime | None = None


class DialecticError(YoulabError):
    """A dialectic call failed. `transient` errors (timeouts, 429, 5xx, lost connections) are worth retrying."""

    def __init__(self, message: str, *, transient: bool = False, status: int | None = None,
                 retry_after: float | None = None):
        super().__init__(message, transient=transient, retry_after=retry_after)
        self.status = status


class Dialectic(abc.ABC):
    """Answers a query about a student."""

    @abc.abstractmethod
    async def ask(
        self,
        user_id: str,
        course: Course,
        query: QuerySpec,
        *,
        system: str,
        chat_id: str | None = None,
        task: TaskSpec | None = None,
        decisions: Sequence[PastDecision] = (),
    ) -> Answer:
        """Answer `query.question` about `user_id`, reading the chats `query.scope` selects.

        `chat_id` is the chat the trigger came from (scope `current`); `task` decides which chat models count as the
        course's (`Course.covers_model`); without it the course's tutor models count. `decisions` are the student's
        earlier decisions on the query's field, newest first: context for the answer, within the backend's budget
        (and, when given, the answer says when the newest message in scope was written). Raises `DialecticError`.
        """

    async def aclose(self) -> None:
        """Release connections. Safe to call more than once."""
