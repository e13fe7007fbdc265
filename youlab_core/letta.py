"""Optional: after an approval, write the approved block into the student's Letta agent (`letta-client` 1.12).

The agent is the one named `youlab_<user_id>_<course id>`; the block is the course's `[block.X] label` (the block's
name when no label is set), and its value is the whole block rendered as text (`render_block_text`), read back from
the student's repository, so a retry always sends the latest approved state and repeated writes are harmless.

An approval never waits on Letta: `on_approved` records the block as "to sync" and writes it on a background thread.
The record lives in the state store's outbox (queue "letta"), so it survives restarts. A failure (Letta down, no
such agent, no such label) leaves it queued and `retry_pending()` tries again later, with backoff, from a daemon
thread (started by a failure, or at construction when the queue holds records from before a restart; it ends when
the queue is empty), or from `start()`'s loop. Outages do not count toward `outbox_max_attempts`; refusals do, and a
record refused that often is kept as dead in the outbox. Without a state store (the bundle could not open it) a
write is tried once and a failure is only logged.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from .config import Course
from .errors import YoulabError
from .transient import is_transient

if TYPE_CHECKING:
    from .state import Outbox

log = logging.getLogger(__name__)

LETTA_QUEUE = "letta"


class LettaSyncError(YoulabError):
    """A block could not be written to Letta; `transient` when Letta may take it later (down, 429, 5xx)."""

    def __init__(self, message: str, *, transient: bool):
        super().__init__(message, transient=transient)


def agent_name(user_id: str, course_id: str) -> str:
    return f"youlab_{user_id}_{course_id}"


def block_label(course: Course, block: str) -> str:
    spec = course.blocks.get(block)
    return (spec.label if spec and spec.label else block)


def _value_lines(value: Any) -> list[str]:
    if value is None or value == "" or value == []:
        return []
    if isinstance(value, bool):
        return ["yes" if value else "no"]
    if isinstance(value, datetime):
        return [value.isoformat()]
    if isinstance(value, list):
        return [f"- {item}" for item in value]
    return str(value).splitlines() or [""]


def render_block_text(course: Course, block: str, values: dict[str, Any]) -> str:
    """`field: value` lines in the course's field order; lists (`- item`) and multi-line text go indented below."""
    spec = course.blocks[block]
    lines: list[str] = []
    for name in spec.fields:
        value_lines = _value_lines(values.get(name))
        if len(value_lines) == 1 and not isinstance(values.get(name), list):
            lines.append(f"{name}: {value_lines[0]}")
        else:
            lines.append(f"{name}:")
            lines.extend(f"  {line}" for line in value_lines)
    return "\n".join(lines)


@dataclass
class PendingSync:
    user_id: str
    course_id: str
    block: str
    diff_id: str
    attempts: int = 0
    last_error: str = ""
    next_at: float = 0.0
    ids: list[int] = field(default_factory=list)  # outbox ids (several approvals of one block: one write)


class LettaSync:
    """An ApprovalListener (youlab_core.memory) that mirrors approved blocks into Letta."""

    def __init__(self, settings: Any, memory: Any, state: Outbox | None, *, client: Any = None,
                 registry: Any = None, owner: str | None = None):
        self.settings = settings
        self.memory = memory
        self.state = state  # None (the bundle could not open it): writes are tried once, failures only logged
        self.registry = registry  # CourseRegistry, to find the course of a queued record
        self._client = client
        self.owner = owner or f"letta:{socket.gethostname()}:{os.getpid()}:{id(self)}"
        self._lock = threading.Lock()
        self._round_lock = threading.Lock()  # one retry round at a time in this process
        self._failing: dict[tuple[str, str, str], PendingSync] = {}  # what this process saw fail, not yet written
        self._courses: dict[str, Course] = {}
        self.synced = 0
        self.failures: list[str] = []  # the last few error texts, newest last (for status pages and tests)
        self._threads: list[threading.Thread] = []
        self._task: asyncio.Task | None = None
        self._stop: asyncio.Event | None = None
        self._retry_thread: threading.Thread | None = None
        self._closed = threading.Event()
        try:  # records left by an earlier process (Letta was down when it stopped) are picked up from here
            if self.state is not None and self.state.outbox_stats(queue=LETTA_QUEUE).queued:
                self._ensure_retrying()
        except Exception:
            log.exception("could not read the Letta retry queue; its records wait for the next failure or start()")

    @property
    def client(self) -> Any:
        if self._client is None:
            from letta_client import Letta

            self._client = Letta(base_url=self.settings.letta_url,
                                 api_key=self.settings.letta_api_key.get_secret_value() or None,
                                 timeout=self.settings.letta_timeout_seconds, max_retries=0)
        return self._client

    # ApprovalListener ----------------------------------------------------------------------------------------

    def on_approved(self, user_id: str, course: Course, diff: Any) -> None:
        """Record the block as to-sync, then write it on a background thread. Returns at once; never raises."""
        self._courses[course.id] = course
        record = PendingSync(user_id, course.id, diff.block, str(diff.id))
        queued = None
        target: Callable[..., object]
        args: tuple[Any, ...]
        try:
            if self.state is not None:
                queued = self.state.outbox_enqueue({"user_id": user_id, "course": course.id, "block": diff.block,
                                                    "diff_id": str(diff.id)}, queue=LETTA_QUEUE)
        except Exception:
            log.exception("Letta sync of %s/%s/%s could not be recorded; trying once", user_id, course.id, diff.block)
        if queued is None:  # no store, a failing store, or a full queue (the store counted it): one unrecorded try
            target, args = self._attempt, (record,)
        else:  # a normal retry round claims the new record (with any others due), so no two writes overlap
            target, args = self._retry_pending_sync, (False,)
        thread = threading.Thread(target=target, args=args, name="youlab-letta-sync", daemon=True)
        self._threads = [t for t in self._threads if t.is_alive()] + [thread]
        thread.start()

    def wait_idle(self, timeout: float = 10.0) -> None:
        """Wait for background writes started by `on_approved` (tests, shutdown)."""
        deadline = time.monotonic() + timeout
        for thread in list(self._threads):
            thread.join(max(0.0, deadline - time.monotonic()))

    # Writing one block ---------------------------------------------------------------------------------------

    def sync_block(self, user_id: str, course: Course, block: str) -> None:
        """Write the block's current approved value to every agent named `youlab_<user>_<course>`."""
        import letta_client

        values = self.memory.student(user_id).read_block(course, block).values
        text = render_block_text(course, block, values)
        label = block_label(course, block)
        name = agent_name(user_id, course.id)
        try:
            agents = [a for a in self.client.agents.list(name=name) if getattr(a, "name", name) == name]
            if not agents:
                raise LettaSyncError(f"no Letta agent named {name!r}", transient=False)
            for agent in agents:
                self.client.agents.blocks.update(label, agent_id=agent.id, value=text)
        except LettaSyncError:
            raise
        except letta_client.NotFoundError as exc:
            raise LettaSyncError(f"Letta agent {name!r} has no block labelled {label!r}: {exc}", transient=False) from exc
        except letta_client.APIConnectionError as exc:
            raise LettaSyncError(f"Letta unavailable: {type(exc).__name__}: {exc}", transient=True) from exc
        except letta_client.APIStatusError as exc:
            raise LettaSyncError(f"Letta refused the write (HTTP {exc.status_code}): {exc}",
                                 transient=is_transient(exc)) from exc

    def _attempt(self, record: PendingSync) -> bool:
        course = self._course(record.course_id)
        try:
            if course is None:
                raise LettaSyncError(f"course {record.course_id!r} is not loaded", transient=False)
            self.sync_block(record.user_id, course, record.block)
        except Exception as exc:
            message = f"{record.user_id}/{record.course_id}/{record.block} (diff {record.diff_id}): {exc}"
            log.warning("Letta sync failed, will retry: %s", message)
            self.failures = (self.failures + [message])[-50:]
            self._failed(record, exc)
            return False
        self._done(record)
        self.synced += 1
        return True

    # The retry records: the state store's outbox, queue "letta" ---------------------------------------------

    def _outbox(self) -> Outbox:
        """The state store: only its outbox gives records ids, and only such records start the retry thread."""
        if self.state is None:
            raise RuntimeError("Letta sync has outbox records but no state store")
        return self.state

    def _done(self, record: PendingSync) -> None:
        if record.ids:
            self._outbox().outbox_ack(record.ids)
        with self._lock:
            self._failing.pop((record.user_id, record.course_id, record.block), None)

    def _ensure_retrying(self) -> None:
        """A daemon thread that retries what failed until the queue is empty (no event loop needed, so it works
        from the approval path wherever it runs)."""
        with self._lock:
            if self._closed.is_set() or (self._retry_thread is not None and self._retry_thread.is_alive()):
                return
            self._retry_thread = threading.Thread(target=self._retry_until_done, name="youlab-letta-retry",
                                                  daemon=True)
            self._retry_thread.start()

    def _retry_until_done(self) -> None:
        while not self._closed.wait(self.settings.letta_retry_seconds):
            try:
                self._retry_pending_sync(False)
                # Decided under the lock: a record queued after this check finds no thread and starts one.
                with self._lock:
                    if not self._outbox().outbox_stats(queue=LETTA_QUEUE).queued:
                        self._retry_thread = None
                        return
            except Exception:
                log.exception("Letta retry round failed")
        with self._lock:
            self._retry_thread = None

    def close(self, timeout: float = 5.0) -> None:
        """Stop the retry thread (what is still pending stays in the outbox for the next process)."""
        self._closed.set()
        thread = self._retry_thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)

    def _failed(self, record: PendingSync, exc: Exception) -> None:
        key = (record.user_id, record.course_id, record.block)
        with self._lock:
            seen = self._failing.get(key)
            # Backoff grows with this process's failures of the block (an outage does not count toward the
            # store's attempts) and with the store's count (refusals, from earlier processes too).
            record.attempts = max(record.attempts, seen.attempts if seen else 0)
            backoff = min(3600.0, self.settings.letta_retry_seconds * (2 ** min(record.attempts, 10)))
            record.attempts += 1
            record.last_error = str(exc)[:500]
            record.next_at = time.monotonic() + backoff
            if record.ids:
                self._failing[key] = record
        if not record.ids:
            log.error("Letta write of %s/%s/%s failed and is not recorded for retry (no state store, or its queue "
                      "was full): %s",
                      record.user_id, record.course_id, record.block, record.last_error)
            return
        # Anything unexpected is kept queued like an outage: only a refusal counts toward the record turning dead.
        transient = is_transient(exc, unknown=True)
        self._outbox().outbox_retry(record.ids, record.last_error, backoff, count_attempt=not transient)
        self._ensure_retrying()

    def pending(self) -> list[PendingSync]:
        """Writes this process saw fail and has not written since (the outbox holds them all, across processes:
        `state.outbox_stats(queue="letta")`)."""
        with self._lock:
            return list(self._failing.values())

    def _course(self, course_id: str) -> Course | None:
        if self.registry is not None:
            try:
                return self.registry.course(course_id)
            except Exception:
                pass
        return self._courses.get(course_id)

    async def retry_pending(self, *, force: bool = False) -> int:
        """Retry every recorded sync that is due (all of them with `force`). Returns how many succeeded."""
        return await asyncio.to_thread(self._retry_pending_sync, force)

    def _retry_pending_sync(self, force: bool) -> int:
        if self.state is None:
            return 0
        with self._round_lock:
            items = self.state.outbox_claim(self.owner, 500, 300.0, queue=LETTA_QUEUE, include_waiting=force)
            # Several approvals of one block: one write (it reads the latest approved state), then all acked.
            records: dict[tuple[str, str, str], PendingSync] = {}
            for item in items:
                p = item.payload
                key = (p["user_id"], p["course"], p["block"])
                record = records.setdefault(key, PendingSync(*key, p.get("diff_id", ""), attempts=item.attempts))
                record.ids.append(item.id)
                record.diff_id = p.get("diff_id", "") or record.diff_id
                record.attempts = max(record.attempts, item.attempts)
            return sum(1 for record in records.values() if self._attempt(record))

    # Background loop -----------------------------------------------------------------------------------------

    def start(self) -> None:
        if self._task is not None and not self._task.done():
            return
        self._stop = asyncio.Event()
        self._task = asyncio.get_running_loop().create_task(self._run(), name="youlab-letta-retry")

    async def _run(self) -> None:
        assert self._stop is not None
        while not self._stop.is_set():
            try:
                await asyncio.wait_for(self._stop.wait(), timeout=self.settings.letta_retry_seconds)
                break
            except asyncio.TimeoutError:
                pass
            try:
                await self.retry_pending()
            except Exception:
                log.exception("Letta retry round failed")

    async def stop(self) -> None:
        if self._stop is not None:
            self._stop.set()
        if self._task is not None:
            await self._task
            self._task = None

