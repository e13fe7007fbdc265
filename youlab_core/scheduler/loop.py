"""The scheduler: a loop that plans, claims and runs due work, plus the entry points of the chat path and of
manual runs. Database calls run in worker threads so the event loop (Open WebUI's) never waits on them."""

from __future__ import annotations

import asyncio
import logging
import os
import random
import socket
import time
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, TypeVar

from ..config import Course, CourseRegistry, TaskSpec
from ..errors import NotFound
from ..settings import Settings
from ..state import Activity, Retry, Settlement, StateStore
from ..triggers import (
    Clock,
    GroupResolver,
    SystemClock,
    TriggerKind,
    after_messages_due,
    check_manual,
    covered_users,
    idle_due_at,
    retry_delay,
    user_filter_allows,
)
from .manual import ManualRun, run_manual
from .planner import Planner
from .work import Claim, DueWork, Executed, Handler

log = logging.getLogger(__name__)


RUNS_AT_KEPT = 100_000  # remembered (task, student) last-run counts; past that the memo starts again
SETTLE_RETRY_FIRST_SECONDS = 0.5  # pause before recording an outcome again (doubles, up to the next)
SETTLE_RETRY_MAX_SECONDS = 5.0
_T = TypeVar("_T")


def default_owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class Scheduler:
    def __init__(
        self,
        store: StateStore,
        registry: CourseRegistry,
        handler: Handler,
        settings: Settings | None = None,
        *,
        clock: Clock | None = None,
        group_resolver: GroupResolver | None = None,
        owner: str | None = None,
        reload_registry: bool = False,
    ):
        self.store = store
        self.registry = registry
        self.handler = handler
        self.settings = settings or Settings.from_env()
        self.clock = clock or SystemClock()
        self.resolver = group_resolver
        self.owner = owner or default_owner()
        self.reload_registry = reload_registry  # re-read changed course files every tick (`youlab scheduler`)
        self.planner = Planner(store, registry, self.settings, self.owner, group_resolver)
        self._inflight: dict[asyncio.Task[Executed], DueWork] = {}
        self._runs_at: dict[tuple[str, str], int] = {}  # (task, student) -> message count at the last run, as last read
        self._settling: set[asyncio.Task[Any]] = set()
        self._stopping = False
        self._stop_event: asyncio.Event | None = None
        self._shutdown_done: asyncio.Future[None] | None = None

    # --- the loop ---
    async def tick(self) -> list[DueWork]:
        """One round: plan what became due, claim what this process has room for, start it in the background."""
        now = self.clock.now()
        capacity = self.settings.scheduler_max_batches - len(self._inflight)
        works = await asyncio.to_thread(self._plan_and_claim, now, capacity)
        if self._stopping:
            # stop() began while this tick was claiming: give the new claims back instead of starting them.
            for work in works:
                await asyncio.to_thread(self._release, work)
            return []
        for work in works:
            self.start(work)
        return works

    def _plan_and_claim(self, now: datetime, capacity: int) -> list[DueWork]:
        if self.reload_registry:
            self.registry.reload()  # cheap when nothing changed (a digest per file); a broken file keeps its last good version
        self.planner.plan(now)
        if capacity <= 0 or self._stopping:
            return []
        return self.planner.claim(now, capacity)

    async def run_forever(self) -> None:
        self._stop_event = asyncio.Event()
        log.info("scheduler %s polling every %.1fs (+ up to %.1fs jitter)", self.owner,
                 self.settings.poll_interval_seconds, self.settings.poll_jitter_seconds)
        try:
            while not self._stopping:
                try:
                    await self.tick()
                    await self.renew_leases()
                    await asyncio.to_thread(self.store.record_heartbeat, self.owner)  # the dashboard's last tick
                except Exception:
                    # A database outage must not end the loop: log and try again next round.
                    log.exception("scheduler tick failed")
                # Jitter spreads several processes' ticks apart.
                delay = self.settings.poll_interval_seconds + random.uniform(0, self.settings.poll_jitter_seconds)
                try:
                    await asyncio.wait_for(self._stop_event.wait(), timeout=delay)
                except TimeoutError:
                    pass
        finally:
            await self._shutdown(self.settings.scheduler_shutdown_grace_seconds)

    async def drain(self) -> None:
        """Wait until every batch started so far has finished (tests, `youlab scheduler --once`)."""
        while self._inflight:
            await asyncio.gather(*list(self._inflight), return_exceptions=True)

    @property
    def inflight(self) -> list[DueWork]:
        return list(self._inflight.values())

    async def renew_leases(self) -> None:
        # Batches being settled are left alone: their rows are being written by the settling transaction.
        tokens = sorted({c.token for t, w in self._inflight.items() if t not in self._settling for c in w.claims})
        if tokens:
            expires = self.clock.now() + timedelta(seconds=self.settings.claim_lease_seconds)
            await asyncio.to_thread(self.store.renew_claims, self.owner, tokens, expires)

    async def stop(self, grace_seconds: float | None = None) -> None:
        """Stop claiming, let running work finish for up to `grace_seconds`, then cancel it and give back every
        claim this scheduler still holds (the work stays due for another process)."""
        self._stopping = True
        if self._stop_event is not None:
            self._stop_event.set()
        await self._shutdown(self.settings.scheduler_shutdown_grace_seconds if grace_seconds is None else grace_seconds)

    async def _shutdown(self, grace: float) -> None:
        self._stopping = True
        if self._shutdown_done is not None:
            await asyncio.shield(self._shutdown_done)
            return
        self._shutdown_done = asyncio.get_running_loop().create_future()
        try:
            pending = set(self._inflight)
            if pending:
                _done, late = await asyncio.wait(pending, timeout=grace)
                for task in late:
                    task.cancel()
                await asyncio.gather(*late, return_exceptions=True)
            released = await asyncio.to_thread(self.store.release_owner, self.owner)
            if released:
                await asyncio.to_thread(self.store.set_run_status, released, "released", error="scheduler stopped before the run finished")
                log.info("scheduler %s released %d claim(s)", self.owner, len(released))
        finally:
            self._shutdown_done.set_result(None)

    # --- running one batch ---
    def start(self, work: DueWork, handler: Handler | None = None) -> asyncio.Task[Executed]:
        """Run `work` in the background (the chat path uses this, so the student's reply never waits).
        `handler` replaces the scheduler's own for this batch (a manual run's progress reporting)."""
        task = asyncio.get_running_loop().create_task(self.execute(work, handler), name=f"youlab-{work.task}-{work.trigger}")
        self._inflight[task] = work
        task.add_done_callback(self._forget)
        return task

    def _forget(self, task: asyncio.Task[Executed]) -> None:
        self._inflight.pop(task, None)
        self._settling.discard(task)

    async def execute(self, work: DueWork, handler: Handler | None = None) -> Executed:
        """Run a claimed batch through the handler, then settle every claim: succeeded, retry later, or failed.
        On a scheduler that is stopping, the claims are given back instead (claimed by the chat path just before the
        stop began); the work stays due for the next scheduler."""
        if self._stopping:
            await asyncio.to_thread(self._release, work)
            return Executed(work, None, {u: "released: the scheduler was stopping" for u in work.user_ids}, True)
        run_ids = [c.run_id for c in work.claims]
        try:
            await asyncio.to_thread(self.store.set_run_status, run_ids, "running", now=self.clock.now())
        except Exception:
            log.exception("task %r: could not mark %d run(s) running; running them anyway", work.task, len(run_ids))
        users = set(work.user_ids)
        outcome = None
        crashed = False
        try:
            outcome = await (handler or self.handler)(work)
            failures = {u: e for u, e in outcome.failures().items() if u in users} if outcome is not None else {}
        except asyncio.CancelledError:
            await asyncio.shield(asyncio.to_thread(self._release, work))
            raise
        except Exception as exc:
            log.exception("task %r: handler failed for a batch of %d", work.task, len(users))
            failures = {u: f"{type(exc).__name__}: {exc}" for u in users}
            crashed = True
        current = asyncio.current_task()
        if current is not None:
            self._settling.add(current)
        try:
            # Each step again while the database is unreachable, as long as our lease holds: giving up at once let
            # the lease expire and the finished work run a second time (one more thread, proposals made twice).
            now = self.clock.now()
            settled, completions, retries = await self._while_lease_holds(work, lambda: self._settle(work, failures, now))
            await self._while_lease_holds(work, lambda: self._record_statuses(work, failures, now, settled, completions, retries))
        except Exception:
            # The claims stay held until their lease expires; then the work is taken over and runs again.
            log.exception("task %r: could not record the outcome of %d run(s)", work.task, len(users))
        finally:
            self._settling.discard(current)
        return Executed(work, outcome, failures, crashed)

    async def _while_lease_holds(self, work: DueWork, step: Callable[[], _T]) -> _T:
        """Run `step` in a worker thread; on a failure, again after a growing pause until our lease (renewed at
        the last tick, not while settling) may have expired; then the failure is raised."""
        # The lease was renewed at most one poll interval (plus jitter) before the batch started settling.
        budget = self.settings.claim_lease_seconds - self.settings.poll_interval_seconds - self.settings.poll_jitter_seconds
        deadline = time.monotonic() + budget
        delay = SETTLE_RETRY_FIRST_SECONDS
        while True:
            try:
                return await asyncio.to_thread(step)
            except Exception as exc:
                if time.monotonic() + delay >= deadline:
                    raise
                log.warning("task %r: recording the outcome of %d run(s) failed (%s); trying again in %.1f s",
                            work.task, len(work.claims), type(exc).__name__, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, SETTLE_RETRY_MAX_SECONDS)

    def _release(self, work: DueWork) -> None:
        released = [c.run_id for c in work.claims if self.store.release_claim(work.task, c.user_id, c.token)]
        self.store.set_run_status(released, "released", error="scheduler stopped before the run finished")

    def _settle(self, work: DueWork, failures: dict[str, str], now: datetime
                ) -> tuple[set[str], list[Settlement], list[Retry]]:
        course, task = self._lookup(work.course_id, work.task)
        acts = self.store.activities(work.course_id, work.user_ids) if course is not None else {}
        completions: list[Settlement] = []
        retries: list[Retry] = []
        for claim in work.claims:
            error = failures.get(claim.user_id)
            if error is not None and claim.attempt < self.settings.run_max_attempts:
                retry_at = now + retry_delay(claim.attempt, self.settings.retry_backoff_seconds)
                retries.append(Retry(claim.user_id, claim.token, retry_at))
                continue
            next_due, next_kind = self._next_due(course, task, claim, acts.get(claim.user_id), now)
            completions.append(Settlement(claim.user_id, claim.token, claim.claimed_at, claim.due_at, claim.messages,
                                          error is not None, next_due, next_kind))
        settled = self.store.settle_claims(work.task, completions, retries)
        lost = set(work.user_ids) - settled
        if lost:
            # Our lease expired and another process took the work over: its outcome is the one recorded.
            log.warning("task %r: lease lost for %d student(s); left to the process that took them", work.task, len(lost))
        return settled, completions, retries

    def _record_statuses(self, work: DueWork, failures: dict[str, str], now: datetime, settled: set[str],
                         completions: list[Settlement], retries: list[Retry]) -> None:
        by_user = {c.user_id: c for c in work.claims}
        self.store.set_run_status([by_user[c.user_id].run_id for c in completions if c.user_id in settled and not c.failed],
                                  "succeeded", now=now)
        for c in completions:
            if c.user_id in settled and c.failed:
                self.store.set_run_status([by_user[c.user_id].run_id], "failed", error=failures[c.user_id], now=now)
        for r in retries:
            if r.user_id in settled:
                self.store.set_run_status([by_user[r.user_id].run_id], "retrying", error=failures[r.user_id], now=now)

    def _lookup(self, course_id: str, task_name: str) -> tuple[Course | None, TaskSpec | None]:
        try:
            course = self.registry.course(course_id)
        except NotFound:
            return None, None
        return course, course.task(task_name)

    def _next_due(
        self, course: Course | None, task: TaskSpec | None, claim: Claim, act: Activity | None, now: datetime
    ) -> tuple[datetime | None, str | None]:
        """What is pending once this run is done: idle (if the student wrote during the run) or a count reached."""
        if course is None or task is None or not user_filter_allows(task, claim.user_id, self.resolver):
            return None, None
        if act is None:
            return None, None
        candidates: list[tuple[datetime, str]] = []
        if task.on_idle:
            due = idle_due_at(act.last_message_at, claim.claimed_at, timedelta(minutes=task.idle_threshold_minutes),
                              timedelta(minutes=task.idle_cooldown_minutes))
            if due is not None:
                candidates.append((due, TriggerKind.on_idle.value))
        if task.after_messages and after_messages_due(act.message_count, claim.messages, task.after_messages):
            candidates.append((now, TriggerKind.after_messages.value))
        return min(candidates) if candidates else (None, None)

    # --- the chat path and manual runs ---
    def claim_after_messages(self, user_id: str, course_id: str, chat_id: str | None = None, *,
                             message_count: int | None = None) -> list[DueWork]:
        """After a student's message was recorded: claim this student's after_messages work that is now due.
        A few indexed reads, and one write only when something is due. Start the result with `start()`.

        `message_count`: the student's count as the write of their message returned it. With it, and the count at
        each task's last run remembered from an earlier check, a reply that cannot reach any threshold costs no
        read at all. The remembered count only grows in the store, so a stale one can only cause a full check."""
        if self._stopping:
            return []  # a stopped scheduler claims nothing: the count stays, the next scheduler claims it
        try:
            course = self.registry.course(course_id)
        except NotFound:
            return []
        paused = self.planner.paused_seen  # as of the last tick: a paused task's check reads nothing
        tasks = [t for t in course.tasks
                 if t.after_messages and t.name not in paused and user_filter_allows(t, user_id, self.resolver)]
        if not tasks:
            return []
        if message_count is not None and all(
            (task.name, user_id) in self._runs_at and not after_messages_due(
                message_count, self._runs_at[(task.name, user_id)], task.after_messages or 0)
            for task in tasks
        ):
            return []
        act = self.store.activity(user_id, course_id)
        if act is None:
            return []
        now = self.clock.now()
        works: list[DueWork] = []
        if len(self._runs_at) > RUNS_AT_KEPT:
            self._runs_at.clear()
        for task in tasks:
            assert task.after_messages
            state = self.store.trigger_state(task.name, user_id)
            self._runs_at[(task.name, user_id)] = state.messages_at_last_run if state else 0
            if not after_messages_due(act.message_count, state.messages_at_last_run if state else 0, task.after_messages):
                continue
            if state and state.claim_owner and state.claim_expires_at and state.claim_expires_at > now:
                continue  # running now; its completion re-checks the count
            if state and state.attempts > 0 and state.next_due_at and state.next_due_at > now:
                continue  # waits for its retry (the store refuses it too; this saves the write)
            if self.store.is_paused(task.name):
                continue  # paused: the count keeps growing; the next message after the resume claims it
            row = self.store.claim_user(
                task.name, course_id, user_id, TriggerKind.after_messages.value, self.owner, now,
                self.settings.claim_lease_seconds, messages=act.message_count, chat_id=chat_id,
                min_new_messages=task.after_messages,
            )
            if row is not None:
                works.extend(self.planner.to_work(course, task, [row]))
        return works

    def covered_students(self, task_name: str) -> list[str]:
        """Students a task covers now: active in its course and allowed by its user_filter."""
        course, task = self.registry.find_task(task_name)
        return covered_users(self.store.active_users(course.id), task, self.resolver)

    def claim_manual(self, task_name: str, user_ids: list[str]) -> list[DueWork]:
        """Claim a manual run of a task for these students (those already running are left out).
        Raises ManualRunRefused when the task says manual = false, NotFound for an unknown task."""
        course, task = self.registry.find_task(task_name)
        check_manual(task)
        now = self.clock.now()
        rows = []
        for user_id in dict.fromkeys(user_ids):
            act = self.store.activity(user_id, course.id)
            row = self.store.claim_user(
                task.name, course.id, user_id, TriggerKind.manual.value, self.owner, now,
                self.settings.claim_lease_seconds, messages=act.message_count if act else 0,
            )
            if row is not None:
                rows.append(row)
        return self.planner.to_work(course, task, rows)

    async def run_manual(self, task_name: str, user_ids: list[str], handler: Handler | None = None) -> ManualRun:
        """Claim, run and settle a manual run of a task for these students (see scheduler.manual)."""
        return await run_manual(self, task_name, user_ids, handler)
