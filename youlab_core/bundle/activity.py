"""Counting off the chat path: the filter hands each student message and reply to one worker thread per process,
which records activity, queues the text for Honcho and claims after_messages triggers that became due.

Why: a state-store write commits to disk (and may be a network round trip to PostgreSQL); the student's message
must not wait for it. One worker keeps the order of a student's messages, so the after_messages check made after
a reply always sees the count of the message before it. Messages waiting together are written in one transaction. Claimed work is started on the event loop it came from.
The queue is bounded (Settings.activity_queue_max); when full, a message is not counted and that is logged
(counting fails open). While the state database cannot be reached (a PostgreSQL restart or failover), the batch is
written again with a growing pause, and what arrives meanwhile waits in the queue: the chats go on and nothing is
lost once the database is back. What is queued but not yet written is lost if the process is killed.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy.exc import InterfaceError, OperationalError

if TYPE_CHECKING:
    from ..dialectic.mirror import HonchoMirror
    from ..scheduler import Scheduler
    from ..state import ActivityStore

log = logging.getLogger(__name__)

BATCH_MAX = 200  # messages written in one transaction at most
COUNTS_KEPT = 100_000  # (student, course) counts remembered; past that the memo starts again
RETRY_FIRST_SECONDS = 0.5  # pause before writing a batch again while the database is unreachable (doubles)
RETRY_MAX_SECONDS = 10.0
STORE_UNREACHABLE = (OperationalError, InterfaceError)  # connection refused, reset or closed: worth waiting for


@dataclass(frozen=True)
class Job:
    user_id: str
    course_ids: tuple[str, ...]
    chat_id: str | None
    role: str  # "user": record + mirror; "assistant": mirror + after_messages check
    text: str
    at: datetime
    loop: asyncio.AbstractEventLoop | None


class ActivityWorker:
    """`scheduler` None: the agents cannot run with these settings (the bundle says why); messages are still
    counted and mirrored, and after_messages is checked again once a scheduler runs (the count is kept)."""

    def __init__(self, store: ActivityStore, mirror: HonchoMirror | None, scheduler: Scheduler | None, maxsize: int):
        self.store = store
        self.mirror = mirror
        self.scheduler = scheduler
        self._queue: queue.Queue[Job | None] = queue.Queue(maxsize=maxsize)
        # The student's message count after their latest message recorded here (from the write itself): lets the
        # after_messages check after a reply skip its reads while no threshold can be reached yet.
        self._counts: dict[tuple[str, str], int] = {}
        self.dropped = 0
        self.failures = 0
        self._markers: dict[int, threading.Event] = {}
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, name="youlab-activity", daemon=True)
        self._thread.start()

    def submit(self, job: Job) -> bool:
        try:
            self._queue.put_nowait(job)
            return True
        except queue.Full:
            self.dropped += 1
            log.warning("YouLab activity queue full (%d): a message of %s was not counted", self._queue.maxsize, job.user_id)
            return False

    async def drain(self, timeout: float = 5.0) -> None:
        """Wait until everything queued so far was handled (tests, shutdown)."""
        done = threading.Event()
        marker = Job("", (), None, "marker", "", datetime.now(), None)
        self._markers[id(marker)] = done
        self._queue.put(marker)
        await asyncio.to_thread(done.wait, timeout)

    def _run(self) -> None:
        while True:
            batch = [self._queue.get()]
            # Whatever else is waiting goes in the same transaction (a busy process writes once per batch, not
            # once per message); the order of the messages is kept.
            while len(batch) < BATCH_MAX:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            stop = None in batch
            jobs = [j for j in batch if j is not None and j.role != "marker"]
            if jobs:
                try:
                    self._handle(jobs)
                except Exception:
                    self.failures += len(jobs)
                    log.exception("YouLab could not record a message batch of %d; the chats were not affected", len(jobs))
            for job in batch:
                if job is not None and job.role == "marker":
                    event = self._markers.pop(id(job), None)
                    if event is not None:
                        event.set()
            if stop:
                return

    def _record(self, jobs: list[Job]) -> dict[tuple[str, str], int]:
        """Write the batch's messages; while the database is unreachable, again after a growing pause (a failure
        used to drop the batch: every message sent during a PostgreSQL restart went uncounted)."""
        rows = [(j.user_id, c, j.at) for j in jobs if j.role == "user" for c in j.course_ids]
        if not rows:
            return {}
        delay = RETRY_FIRST_SECONDS
        waited = 0.0
        while True:
            try:
                counts = self.store.record_messages(rows)
            except STORE_UNREACHABLE as exc:
                if self._stopped.is_set():
                    raise
                if waited == 0.0:
                    log.warning("YouLab cannot reach its state database (%s); %d message(s) wait to be counted, "
                                "the chats go on", type(exc).__name__, len(rows))
                self._stopped.wait(delay)
                waited += delay
                delay = min(delay * 2, RETRY_MAX_SECONDS)
                continue
            if waited:
                log.warning("YouLab's state database is back after about %.0f s; the waiting messages are counted", waited)
            return counts

    def _handle(self, jobs: list[Job]) -> None:
        counts = self._record(jobs)
        self._counts.update(counts)
        if len(self._counts) > COUNTS_KEPT:
            self._counts.clear()  # a cache: an unknown count only means a full check
        mirror = self.mirror
        if mirror is not None:
            for job in jobs:
                if job.chat_id and job.text:
                    mirror.enqueue(job.user_id, job.chat_id, job.role, job.text, at=job.at)
        scheduler = self.scheduler
        if scheduler is None:
            return  # the agents cannot run with these settings: the bundle logged why once
        for job in jobs:
            if job.role != "assistant" or job.loop is None:
                continue
            for course_id in job.course_ids:
                count = self._counts.get((job.user_id, course_id))
                for work in scheduler.claim_after_messages(job.user_id, course_id, job.chat_id, message_count=count):
                    log.info("after_messages: starting %s for %s (course %s)", work.task, job.user_id, course_id)
                    job.loop.call_soon_threadsafe(scheduler.start, work)

    def stop(self) -> None:
        self._stopped.set()  # a batch waiting for the database gives up (it is logged as not recorded)
        self._queue.put(None)
