"""Mirroring student and tutor messages into Honcho, from a durable queue.

The chat path only enqueues (one insert into the state store's outbox; it never waits on Honcho). A background worker
claims queued messages, groups them by chat, and sends each chat's messages in order, at most
`Settings.honcho_batch_size` (<= 100, Honcho's limit) per request. A failed request leaves its messages queued with
exponential backoff (capped at `Settings.mirror_backoff_max_seconds`), so nothing is lost while Honcho is down: the
messages wait in the store, across restarts, until it is back. After `Settings.outbox_max_attempts` failures a
message is kept as "dead" (not deleted) and counted. The queue is bounded by `Settings.outbox_max_items`: past that,
new messages are refused, counted in the store's overflow counter and logged; never silently dropped.

Delivery is at least once: if Honcho stored a batch but the reply was lost, the batch is sent again. Each message
carries its queue id in metadata (`youlab_outbox_id`) so duplicates can be recognised.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
import uuid
from collections import OrderedDict
from datetime import datetime, timezone
from typing import Any

from ..transient import is_transient
from .honcho import close_honcho_client, honcho_client
from .ids import TUTOR_PEER_ID, honcho_peer_id, honcho_session_id

log = logging.getLogger(__name__)

QUEUE = "honcho"  # the state store outbox queue of this mirror

HONCHO_MAX_BATCH = 100
_KNOWN_LIMIT = 10_000  # sessions/peers remembered as created (an LRU: forgetting one only costs a get-or-create)


class HonchoMirror:
    def __init__(self, state: Any, settings: Any, *, client: Any = None, owner: str | None = None):
        self.state = state
        self.settings = settings
        self.enabled = bool(settings.honcho_url)
        self._client = client
        self.owner = owner or f"mirror:{socket.gethostname()}:{os.getpid()}:{id(self)}"
        self.batch_size = min(HONCHO_MAX_BATCH, settings.honcho_batch_size)
        self.overflowed = 0  # refused by this process because the queue was full
        self.delivered = 0
        self.failed_requests = 0
        self._known: OrderedDict[str, None] = OrderedDict()
        self._task: asyncio.Task | None = None
        self._stop: asyncio.Event | None = None
        self._last_overflow_log = 0.0
        self._last_failure_log = 0.0
        self._failed_since_log = 0
        self._waiting: dict[str, _Waiting] = {}  # per chat: messages sent later than planned, newer ones wait

    @property
    def client(self) -> Any:
        if self._client is None:
            s = self.settings
            self._client = honcho_client(s.honcho_url, s.honcho_api_key.get_secret_value(), s.honcho_workspace,
                                         timeout=s.call_timeout_seconds)
        return self._client

    # The chat path -------------------------------------------------------------------------------------------

    def enqueue(self, user_id: str, chat_id: str, role: str, content: str, *, at: datetime | None = None,
                message_id: str | None = None) -> bool:
        """Queue one message for Honcho. Never raises (a chat must not break on this); False when not queued."""
        if not self.enabled or not content or not content.strip():
            return False
        if role not in ("user", "assistant"):
            return False
        payload = {
            "mid": uuid.uuid4().hex,  # stable across re-queueing: how the worker recognises a message
            "user_id": user_id,
            "chat_id": chat_id,
            "role": role,
            "content": content,
            "at": (at or datetime.now(timezone.utc)).isoformat(),
            "message_id": message_id,
        }
        try:
            queued = self.state.outbox_enqueue(payload, queue=QUEUE)
        except Exception:
            log.exception("could not queue a message for Honcho (chat %s); the chat goes on", chat_id)
            return False
        if queued is None:
            self.overflowed += 1
            now = time.monotonic()
            if now - self._last_overflow_log > 10:  # one line per 10 s, with the running count
                self._last_overflow_log = now
                log.error("Honcho outbox is full (outbox_max_items=%s): %s message(s) refused by this process so far",
                          self.settings.outbox_max_items, self.overflowed)
            return False
        return True

    # The worker ----------------------------------------------------------------------------------------------

    async def flush(self, *, limit: int | None = None) -> int:
        """Claim what is due, send it, ack or reschedule it. Returns the number of messages Honcho accepted."""
        if not self.enabled:
            return 0
        claim_limit = limit or self.settings.mirror_claim_limit
        items = await asyncio.to_thread(self.state.outbox_claim, self.owner, claim_limit,
                                        self.settings.mirror_lease_seconds, queue=QUEUE)
        if not items:
            return 0
        by_chat: dict[tuple[str, str], list[Any]] = {}
        for item in sorted(items, key=lambda i: (i.payload.get("at", ""), i.id)):
            key = (str(item.payload["user_id"]), str(item.payload["chat_id"]))
            by_chat.setdefault(key, []).append(item)
        limiter = asyncio.Semaphore(self.settings.mirror_concurrency)

        async def one_chat(key: tuple[str, str], chat_items: list[Any]) -> int:
            async with limiter:
                return await self._send_chat(key[0], key[1], chat_items)

        results = await asyncio.gather(*(one_chat(k, v) for k, v in by_chat.items()))
        return sum(results)

    async def _send_chat(self, user_id: str, chat_id: str, items: list[Any]) -> int:
        """Send one chat's claimed messages in order. A message is never sent while an older message of the same
        chat is known to be waiting (a failed or held-back one that is not in this round): it is held back too."""
        key = f"{user_id}\0{chat_id}"
        waiting = self._waiting.setdefault(key, _Waiting())
        now = time.monotonic()
        present = {_mid(i) for i in items}
        absent = [at for mid, at in waiting.messages.items() if mid not in present]
        if absent and now >= waiting.give_up:
            waiting.messages.clear()  # waited long enough (they may have turned dead): stop holding the chat
        elif absent:
            cutoff = min(absent)
            hold = [i for i in items if _at(i) >= cutoff]
            items = [i for i in items if _at(i) < cutoff]
            if hold:
                waiting.add(hold)
                await self._defer(hold, max(0.0, waiting.until - now) + 0.05)
        sent = 0
        for start in range(0, len(items), self.batch_size):
            chunk = items[start:start + self.batch_size]
            try:
                await self._deliver(user_id, chat_id, chunk)
            except Exception as exc:
                self.failed_requests += 1
                if not _transient(exc) and len(chunk) > 1:
                    # A message Honcho refuses must not hold back the others: send them one by one.
                    sent += await self._send_singly(user_id, chat_id, chunk)
                    waiting.done(chunk)  # a refused message must not hold the chat back either
                    continue
                # An outage (transient) never counts toward "dead": the messages wait as long as Honcho is down.
                backoff = await self._retry(chunk, exc, count_attempt=not _transient(exc))
                rest = items[start + self.batch_size:]
                if rest:
                    await self._defer(rest, backoff + 0.05)
                waiting.add(chunk + rest)
                waiting.until = time.monotonic() + backoff
                waiting.give_up = time.monotonic() + max(60.0, 4 * backoff)  # a message may turn dead: stop waiting
                return sent
            await asyncio.to_thread(self.state.outbox_ack, [i.id for i in chunk])
            waiting.done(chunk)
            sent += len(chunk)
            self.delivered += len(chunk)
        if not waiting.messages:
            self._waiting.pop(key, None)
        return sent

    async def _send_singly(self, user_id: str, chat_id: str, chunk: list[Any]) -> int:
        sent = 0
        for item in chunk:
            try:
                await self._deliver(user_id, chat_id, [item])
            except Exception as exc:
                await self._retry([item], exc, count_attempt=not _transient(exc))
                continue
            await asyncio.to_thread(self.state.outbox_ack, [item.id])
            sent += 1
            self.delivered += 1
        return sent

    async def _defer(self, items: list[Any], seconds: float) -> None:
        await self._reschedule(items, "waiting behind older messages of the same chat", seconds, count_attempt=False)

    async def _reschedule(self, items: list[Any], error: str, backoff: float, *, count_attempt: bool) -> None:
        # count_attempt=False (outages, waiting behind a chat's older messages): the store leaves the attempt
        # counter alone, so an outage never turns messages dead.
        ids = [i.id for i in items]
        await asyncio.to_thread(self.state.outbox_retry, ids, error, backoff, count_attempt=count_attempt)

    async def _retry(self, items: list[Any], exc: Exception, *, count_attempt: bool = True) -> float:
        # Grows with the failures counted and with how long the oldest message has waited (an outage does not
        # count failures), so a long outage is polled ever more gently, up to the cap.
        attempts = min(i.attempts for i in items)
        waited = max(0.0, (datetime.now(timezone.utc) - min(_first_enqueued(i) for i in items)).total_seconds())
        base = self.settings.mirror_backoff_seconds
        backoff = min(self.settings.mirror_backoff_max_seconds, max(base * (2 ** min(max(0, attempts), 30)), waited / 4))
        retry_after = getattr(exc, "retry_after", None)
        if retry_after:
            backoff = max(backoff, float(retry_after))
        error = f"{type(exc).__name__}: {exc}"[:500]
        self._failed_since_log += len(items)
        now = time.monotonic()
        if now - self._last_failure_log > 10:  # an outage logs one line per 10 s, not one per chat per round
            log.warning("Honcho mirror: %d message(s) not delivered in the last %.0fs, kept for retry (latest: %s)",
                        self._failed_since_log, now - self._last_failure_log if self._last_failure_log else 0, error)
            self._last_failure_log, self._failed_since_log = now, 0
        await self._reschedule(items, error, backoff, count_attempt=count_attempt)
        return backoff

    async def _deliver(self, user_id: str, chat_id: str, items: list[Any]) -> None:
        import honcho
        from honcho.api_types import MessageCreateParams

        client = self.client
        peer_id = honcho_peer_id(user_id)
        session_id = honcho_session_id(chat_id)
        for peer in (peer_id, TUTOR_PEER_ID):
            if f"peer:{peer}" not in self._known:
                await client.aio.peer(peer)
                self._remember(f"peer:{peer}")
        if f"session:{session_id}" not in self._known:
            await client.aio.session(session_id, metadata={"chat_id": chat_id, "user_id": user_id},
                                     peers=[peer_id, TUTOR_PEER_ID])
            self._remember(f"session:{session_id}")
        messages = [
            MessageCreateParams(
                content=str(i.payload["content"]),
                peer_id=peer_id if i.payload["role"] == "user" else TUTOR_PEER_ID,
                metadata={"youlab_outbox_id": i.id, "openwebui_message_id": i.payload.get("message_id"),
                          "role": i.payload["role"]},
                created_at=_parse_time(i.payload.get("at")),
            )
            for i in items
        ]
        await honcho.Session(session_id, client).aio.add_messages(messages)

    def _remember(self, key: str) -> None:
        self._known[key] = None
        self._known.move_to_end(key)
        while len(self._known) > _KNOWN_LIMIT:
            self._known.popitem(last=False)

    # Lifecycle -----------------------------------------------------------------------------------------------

    def start(self) -> None:
        """Run the worker on the running event loop until `stop()`."""
        if not self.enabled or (self._task is not None and not self._task.done()):
            return
        self._stop = asyncio.Event()
        self._task = asyncio.get_running_loop().create_task(self._run(), name="youlab-honcho-mirror")

    async def _run(self) -> None:
        assert self._stop is not None
        while not self._stop.is_set():
            try:
                sent = await self.flush()
            except Exception:
                log.exception("Honcho mirror round failed; retrying")
                sent = 0
            if sent:
                continue  # more may be waiting: go again at once
            try:
                await asyncio.wait_for(self._stop.wait(), timeout=self.settings.mirror_poll_seconds)
            except asyncio.TimeoutError:
                pass

    async def stop(self) -> None:
        if self._stop is not None:
            self._stop.set()
        if self._task is not None:
            try:
                await self._task
            except asyncio.CancelledError:
                pass
            self._task = None
        if self._client is not None:
            await close_honcho_client(self._client)


def _transient(exc: Exception) -> bool:
    return is_transient(exc, unknown=True)  # anything unexpected: keep the messages and try again


class _Waiting:
    """One chat's messages that failed or were held back, by message id -> time, until they are delivered."""

    def __init__(self) -> None:
        self.messages: dict[str, str] = {}
        self.until = 0.0  # when the failed ones are retried (monotonic)
        self.give_up = float("inf")

    def add(self, items: list[Any]) -> None:
        self.messages.update({_mid(i): _at(i) for i in items})

    def done(self, items: list[Any]) -> None:
        for item in items:
            self.messages.pop(_mid(item), None)


def _mid(item: Any) -> str:
    return str(item.payload.get("mid") or f"outbox-{item.id}")


def _at(item: Any) -> str:
    return str(item.payload.get("at") or "")


def _first_enqueued(item: Any) -> datetime:
    """When the message was first queued (a renewed entry keeps its original time in the payload)."""
    first = item.payload.get("first_enqueued_at")
    if first:
        try:
            return datetime.fromisoformat(first)
        except ValueError:
            pass
    return item.enqueued_at


def _parse_time(value: Any) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(str(value))
    except ValueError:
        return None
