"""The Honcho dialectic: the student's Honcho peer answers through `peer.chat` (honcho-ai 2.7, async API).

Scopes map onto one `peer.aio.chat` call each:
- current  -> `session=<that chat's session>`
- recent / specific -> `sessions=[...]`: the SDK sends the allowlist as `filters: {"session_id": [...]}`, so several
  sessions need only one call (no per-session fan-out).
- all -> no session filter: Honcho's whole representation of the student.
Which chats are current/recent/specific comes from a `MessageSource` when one is given (the same course filter and
recency as the embedded backend); without one, from the peer's Honcho sessions, newest created first (Honcho keeps no
"last message at" per session), and the course filter cannot apply.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from ..config import Course, QuerySpec, Scope, TaskSpec
from ..prompts import PastDecision, decision_context
from ..transient import is_transient, retry_after_of
from .base import Answer, Dialectic, DialecticError
from .budget import CHARS_PER_TOKEN, DECISIONS_SHARE, take_decisions
from .ids import honcho_peer_id, honcho_session_id
from .scope import AgentThreadCheck, select_chats
from .source import ChatSummary, MessageSource

if TYPE_CHECKING:
    import honcho

    from ..settings import Settings

QUERY_MAX_CHARS = 10_000  # Honcho's limit on a dialectic query (honcho-ai 2.7 DialecticOptions.query)


def honcho_client(url: str, api_key: str, workspace: str, *, timeout: float, max_retries: int = 0) -> Any:
    """A Honcho client. Retries are ours (the runner's backoff), so the SDK's own are off by default."""
    from honcho import Honcho

    return Honcho(base_url=url, api_key=api_key or None, workspace_id=workspace, timeout=timeout,
                  max_retries=max_retries)


def translate_honcho_error(exc: honcho.HonchoError, what: str) -> DialecticError:
    """A DialecticError that is transient exactly when `youlab_core.transient` says Honcho's error is."""
    return DialecticError(f"{what}: {type(exc).__name__}: {exc}", transient=is_transient(exc),
                          status=exc.status or None, retry_after=retry_after_of(exc))


class HonchoDialectic(Dialectic):
    def __init__(
        self,
        client: Any,
        *,
        source: MessageSource | None = None,
        timeout: float = 120.0,
        is_agent_thread: AgentThreadCheck | None = None,
        history_token_budget: int = 6000,
    ):
        self.client = client
        self.source = source
        self.timeout = timeout
        self.is_agent_thread = is_agent_thread
        self.history_token_budget = history_token_budget  # bounds the decisions added to a query

    @classmethod
    def from_settings(cls, settings: Settings, *, source: MessageSource | None = None,
                      is_agent_thread: AgentThreadCheck | None = None) -> HonchoDialectic:
        client = honcho_client(settings.honcho_url, settings.honcho_api_key.get_secret_value(),
                               settings.honcho_workspace, timeout=settings.dialectic_timeout_seconds)
        return cls(client, source=source, timeout=settings.dialectic_timeout_seconds, is_agent_thread=is_agent_thread,
                   history_token_budget=settings.history_token_budget)

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
        # `system` is not sent: Honcho's dialectic has its own reasoning prompt and no system-prompt parameter. The
        # student's earlier decisions on the field therefore travel in the query itself, after the question.
        import honcho

        started = time.perf_counter()
        peer = honcho.Peer(honcho_peer_id(user_id), self.client)  # no request: the peer is created by the mirror
        kwargs: dict[str, Any] = {"timeout": self.timeout}
        chats: list[str] = []
        if query.scope is not Scope.all:
            chats = await self._chat_ids(user_id, course, query, chat_id=chat_id, task=task)
            if not chats:
                return Answer("", (), None, time.perf_counter() - started)
            if query.scope is Scope.current:
                kwargs["session"] = honcho_session_id(chats[0])
            else:
                kwargs["sessions"] = [honcho_session_id(c) for c in chats]
        try:
            try:
                text = await peer.aio.chat(self.query_text(query.question, decisions), **kwargs)
            except honcho.NotFoundError:
                # The student's peer, or one of the chats, has no messages in Honcho yet. Ask again about the chats
                # Honcho has; if none (or no peer), nothing is known, which is an answer, not a failure.
                kept = await self._existing(peer, chats) if chats else []
                if not kept:
                    return Answer("", (), None, time.perf_counter() - started)
                chats = kept
                kwargs.pop("session", None)
                kwargs.pop("sessions", None)
                if query.scope is Scope.current:
                    kwargs["session"] = honcho_session_id(kept[0])
                else:
                    kwargs["sessions"] = [honcho_session_id(c) for c in kept]
                text = await peer.aio.chat(self.query_text(query.question, decisions), **kwargs)
        except honcho.NotFoundError:
            return Answer("", (), None, time.perf_counter() - started)
        except honcho.HonchoError as exc:
            raise translate_honcho_error(exc, "Honcho dialectic") from exc
        newest = await self._newest(user_id, course, query, chat_id, task, chats) if decisions else None
        return Answer((text or "").strip(), tuple(chats), None, time.perf_counter() - started,
                      newest_message_at=newest)

    def query_text(self, question: str, decisions: Sequence[PastDecision]) -> str:
        """The question, then the decisions that fit a quarter of the token budget and Honcho's query limit."""
        room = min(self.history_token_budget,
                   (QUERY_MAX_CHARS - len(question) - 200) // CHARS_PER_TOKEN * DECISIONS_SHARE)
        kept, _ = take_decisions(decisions, max(room, 0))
        context = decision_context(kept)
        return f"{question}\n\n{context}" if context else question

    async def _newest(self, user_id: str, course: Course, query: QuerySpec, chat_id: str | None,
                      task: TaskSpec | None, chats: list[str]) -> datetime | None:
        """When the newest chat the answer read was last updated (from the MessageSource; None without one)."""
        if self.source is None:
            return None
        try:
            listed = await self.source.list_chats(user_id)
        except Exception:  # only a hint for the runner: without it, the runner compares values alone
            return None
        selected = select_chats(listed, course, query, task=task, chat_id=chat_id, is_agent_thread=self.is_agent_thread)
        wanted = set(chats)
        times = [c.updated_at for c in selected if query.scope is Scope.all or c.id in wanted]
        return max(times) if times else None

    async def _existing(self, peer: Any, chats: list[str]) -> list[str]:
        """The chats among `chats` that have a Honcho session with this peer in it (order kept)."""
        import honcho

        wanted = {honcho_session_id(c): c for c in chats}
        found: set[str] = set()
        try:
            page = await peer.aio.sessions(size=100)
            async for session in page:
                if session.id in wanted:
                    found.add(session.id)
                if len(found) == len(wanted):
                    break
        except honcho.NotFoundError:
            return []
        return [c for sid, c in wanted.items() if sid in found]

    async def _chat_ids(self, user_id: str, course: Course, query: QuerySpec, *, chat_id: str | None,
                        task: TaskSpec | None) -> list[str]:
        if self.source is not None:
            try:
                chats = await self.source.list_chats(user_id)
            except DialecticError:
                raise
            except Exception as exc:
                raise DialecticError(f"could not list the student's chats: {type(exc).__name__}: {exc}",
                                     transient=is_transient(exc)) from exc
            selected = select_chats(chats, course, query, task=task, chat_id=chat_id,
                                    is_agent_thread=self.is_agent_thread)
            return [c.id for c in selected]
        if query.scope is Scope.specific:
            return list(query.sessions)
        if query.scope is Scope.current and chat_id is not None:
            return [chat_id]
        limit = 1 if query.scope is Scope.current else query.recent_limit
        return await self._recent_sessions(user_id, limit)

    async def _recent_sessions(self, user_id: str, limit: int) -> list[str]:
        """Chat ids of the peer's newest Honcho sessions (by creation), for when no MessageSource is available."""
        import honcho

        peer = honcho.Peer(honcho_peer_id(user_id), self.client)
        try:
            page = await peer.aio.sessions(size=max(limit, 1), reverse=True)
        except honcho.NotFoundError:
            return []
        except honcho.HonchoError as exc:
            raise translate_honcho_error(exc, "Honcho session list") from exc
        found: list[ChatSummary] = []
        for session in page.items:
            metadata = getattr(session, "metadata", None) or {}
            raw = metadata.get("chat_id") or session.id.removeprefix("chat_")
            found.append(ChatSummary(id=str(raw), updated_at=session.created_at or ChatSummary.updated_at))
            if len(found) >= limit:
                break
        found.sort(key=lambda c: c.updated_at, reverse=True)
        return [c.id for c in found[:limit]]

    async def aclose(self) -> None:
        await close_honcho_client(self.client)


async def close_honcho_client(client: Any) -> None:
    """Close the async HTTP client the SDK built for this loop, if any (the SDK has no public close)."""
    built = getattr(client, "_async_http_built", None)
    if built is not None:
        try:
            await built[1].close()
        except Exception:  # closing is best effort: a connection already gone is fine
            pass
        client._async_http_built = None
