"""The default dialectic: the configured LLM answers from the student's own Open WebUI messages."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Sequence
from datetime import datetime
from typing import TypeVar

from ..config import Course, QuerySpec, TaskSpec
from ..llm.base import LLM, LLMError
from ..prompts import PastDecision, dialectic_messages
from .base import Answer, Dialectic, DialecticError
from .budget import take_decisions, take_newest
from .scope import AgentThreadCheck, select_chats
from .source import HistoryMessage, MessageSource

_T = TypeVar("_T")


class EmbeddedDialectic(Dialectic):
    """Selects chats by scope, keeps the newest messages that fit `history_token_budget`, asks the LLM.

    Chats are read newest first and reading stops once the budget is full, so `scope = "all"` on a student with a
    long history reads only what can be used. With no messages in scope the LLM is not called and the answer is "".
    The student's earlier decisions on the field go into the prompt first, newest first, within a quarter of the
    budget (`budget.take_decisions`); the transcript gets what is left.
    """

    def __init__(
        self,
        llm: LLM,
        source: MessageSource,
        *,
        history_token_budget: int = 6000,
        timeout: float | None = 120.0,
        is_agent_thread: AgentThreadCheck | None = None,
    ):
        self.llm = llm
        self.source = source
        self.history_token_budget = history_token_budget
        self.timeout = timeout
        self.is_agent_thread = is_agent_thread

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
        started = time.perf_counter()
        kept, decisions_used = take_decisions(decisions, self.history_token_budget)
        transcript, used = await self.transcript(user_id, course, query, chat_id=chat_id, task=task,
                                                 budget=self.history_token_budget - decisions_used)
        if not transcript:
            return Answer("", (), None, time.perf_counter() - started)
        pairs = [(m.role, m.content) for _, m in transcript]
        messages = dialectic_messages(system, query.question, pairs, kept)
        try:
            completion = await self.llm.complete(messages, timeout=self.timeout)
        except LLMError as exc:
            raise DialecticError(f"LLM call failed: {exc}", transient=exc.transient, status=exc.status,
                                 retry_after=getattr(exc, "retry_after", None)) from exc
        sessions: list[str] = []
        for chat, _ in transcript:
            if chat not in sessions:
                sessions.append(chat)
        times = [m.at for _, m in transcript if m.at is not None]
        newest: datetime | None = max(times) if decisions and times else None
        return Answer(completion.text.strip(), tuple(sessions), completion.usage, time.perf_counter() - started,
                      newest_message_at=newest)

    async def transcript(
        self,
        user_id: str,
        course: Course,
        query: QuerySpec,
        *,
        chat_id: str | None = None,
        task: TaskSpec | None = None,
        budget: int | None = None,
    ) -> tuple[list[tuple[str, HistoryMessage]], int]:
        """(chat id, message) pairs in scope that fit the budget (default `history_token_budget`), oldest first,
        and the estimated tokens used."""
        chats = await self._read(self.source.list_chats(user_id))
        selected = select_chats(chats, course, query, task=task, chat_id=chat_id, is_agent_thread=self.is_agent_thread)
        total = self.history_token_budget if budget is None else budget
        budget = total
        parts: list[list[tuple[str, HistoryMessage]]] = []
        for chat in selected:  # newest chat first
            if budget <= 0:
                break
            messages = await self._read(self.source.messages(user_id, chat.id))
            kept, used = take_newest(messages, budget, cut_first=not parts)
            budget -= used
            if kept:
                parts.append([(chat.id, m) for m in kept])
            if len(kept) < len(messages):
                break  # this chat already overflowed the budget: older chats cannot fit
        parts.reverse()  # oldest chat first, so the transcript reads in time order
        return [pair for part in parts for pair in part], total - budget

    @staticmethod
    async def _read(awaitable: Awaitable[_T]) -> _T:
        try:
            return await awaitable
        except DialecticError:
            raise
        except Exception as exc:  # a source's own failure: name it, and do not retry what may be a bug
            raise DialecticError(f"could not read the student's chats: {type(exc).__name__}: {exc}") from exc
