"""The synchronous half of a tick: turn stored state into due rows (schedule fires, idle sweeps), claim them, and
group the claims into batches. The pure decisions come from `youlab_core.triggers`."""

from __future__ import annotations

import logging
import uuid
from collections import defaultdict
from datetime import datetime, timedelta

from ..config import Course, CourseRegistry, TaskSpec
from ..settings import Settings
from ..state import ClaimedRow, StateStore, to_epoch
from ..triggers import (
    CronSchedule,
    GroupResolver,
    TriggerKind,
    idle_due_at,
    misfire_grace,
    resolve_user_filter,
)
from .work import Claim, DueWork

log = logging.getLogger(__name__)

IDLE_SWEEP_CHUNK = 1000
# Bounds one tick's idle sweep (a new on_idle task reads all past activity once; that is spread over ticks).
IDLE_SWEEP_CHUNKS_PER_TICK = 20


class Planner:
    def __init__(self, store: StateStore, registry: CourseRegistry, settings: Settings, owner: str, resolver: GroupResolver | None):
        self.store = store
        self.registry = registry
        self.settings = settings
        self.owner = owner
        self.resolver = resolver
        # The tasks the last tick found paused: after_messages checks skip them without a read (a paused task costs
        # the chat path nothing); a resume reaches them at the next tick.
        self.paused_seen: frozenset[str] = frozenset()

    # --- evaluation ---
    def plan(self, now: datetime) -> None:
        """Write what became due by `now` into trigger state (idempotent; safe in several processes at once)."""
        for course, task in self.registry.tasks():
            try:
                if task.schedule:
                    self.plan_schedule(course, task, now)
                if task.on_idle:
                    self.plan_idle(course, task, now)
            except Exception:
                # One task's trouble (a database hiccup) must not stop the others; next tick tries again.
                log.exception("planning task %r failed", task.name)

    def plan_schedule(self, course: Course, task: TaskSpec, now: datetime) -> None:
        assert task.schedule
        cron = CronSchedule(task.schedule, task.timezone)
        key = f"{task.schedule}|{task.timezone}"
        cursor = self.store.task_cursor(task.name)
        if cursor is None or cursor.schedule != key or cursor.next_fire_at is None:
            # First sight of this schedule (or it changed): start from the next fire; nothing is back-filled.
            self.store.reset_schedule(task.name, course.id, key, cron.next_after(now))
            return
        decision = cron.decide(cursor.next_fire_at, now, misfire_grace(task, self.settings))
        if decision.fire_at is None and decision.skipped == 0:
            return
        allowed = resolve_user_filter(task, self.resolver)
        won = self.store.advance_schedule(
            task.name, course.id, cursor.next_fire_at, decision.next_fire_at, decision.fire_at, decision.skipped, now, allowed
        )
        if won and decision.skipped:
            log.warning(
                "task %r: %d scheduled fire(s) skipped (missed while nothing ran; grace %s)%s",
                task.name, decision.skipped, misfire_grace(task, self.settings),
                f", running the one due at {decision.fire_at.isoformat()}" if decision.fire_at else "",
            )

    def plan_idle(self, course: Course, task: TaskSpec, now: datetime) -> None:
        threshold = timedelta(minutes=task.idle_threshold_minutes)
        cooldown = timedelta(minutes=task.idle_cooldown_minutes)
        cursor = self.store.task_cursor(task.name)
        after = cursor.idle_swept_until if cursor else 0.0
        until = to_epoch(now - threshold)
        allowed = resolve_user_filter(task, self.resolver)
        for _ in range(IDLE_SWEEP_CHUNKS_PER_TICK):
            if after >= until:
                break
            rows = self.store.idle_candidates(course.id, after, until, IDLE_SWEEP_CHUNK)
            if not rows:
                break  # nothing new: leave the cursor (an empty index range costs the same however wide)
            if len(rows) == IDLE_SWEEP_CHUNK:
                # Stop before the last timestamp of a full chunk, so rows sharing it are read together next time.
                last = to_epoch(rows[-1].last_message_at)
                head = [r for r in rows if to_epoch(r.last_message_at) < last]
                if head:
                    rows, reached = head, to_epoch(head[-1].last_message_at)
                else:
                    # The whole chunk shares one timestamp: read every row with it, however many.
                    rows, reached = self.store.idle_candidates(course.id, after, last, 10**9), last
            else:
                reached = until
            candidates = [r for r in rows if allowed is None or r.user_id in allowed]
            runs = self.store.last_runs(task.name, [r.user_id for r in candidates])
            items = []
            for act in candidates:
                last_run, _claimed = runs.get(act.user_id, (None, False))
                due = idle_due_at(act.last_message_at, last_run, threshold, cooldown)
                if due is not None:
                    items.append((act.user_id, due, TriggerKind.on_idle.value))
            self.store.offer_due(task.name, course.id, items)
            self.store.set_idle_swept(task.name, course.id, reached)
            after = reached

    # --- claiming ---
    def claim(self, now: datetime, capacity_batches: int) -> list[DueWork]:
        """Claim due rows of every task, at most `capacity_batches` batches in all. A paused task is skipped: its
        rows stay due (plan() keeps making them due) and are claimed once it is resumed."""
        works: list[DueWork] = []
        paused = self.store.paused_tasks()  # one small read per tick; every process sees a pause at its next tick
        self.paused_seen = frozenset(paused)
        for course, task in self.registry.tasks():
            room = capacity_batches - len(works)
            if room <= 0:
                break
            if task.name in paused:
                continue
            if not self.store.has_due(task.name, now):
                continue  # the common case: no write transaction at all
            limit = min(self.settings.scheduler_claim_limit, room * task.batch_size)
            rows = self.store.claim_due(task.name, self.owner, now, self.settings.claim_lease_seconds, limit)
            if rows:
                works.extend(self.to_work(course, task, rows))
        return works

    def to_work(self, course: Course, task: TaskSpec, rows: list[ClaimedRow]) -> list[DueWork]:
        """Create or reopen run records for claimed rows and group them into batches of the task's batch_size."""
        fresh: list[tuple[ClaimedRow, str]] = []
        retried: list[tuple[ClaimedRow, str]] = []
        claims: dict[str, list[Claim]] = defaultdict(list)
        chats: dict[str, str | None] = {}
        for row in rows:
            run_id = row.run_id or str(uuid.uuid4())
            (retried if row.run_id else fresh).append((row, run_id))
            claims[row.kind].append(Claim(row.user_id, row.token, run_id, row.due_at, row.attempt, row.claimed_at, row.messages))
            chats.setdefault(row.kind, row.chat_id)
        self.store.create_runs(
            [
                {"id": run_id, "task": task.name, "course_id": course.id, "user_id": r.user_id, "trigger": r.kind,
                 "due_at": to_epoch(r.due_at), "chat_id": r.chat_id, "claimed_at": to_epoch(r.claimed_at),
                 "status": "claimed", "attempts": r.attempt, "owner": self.owner}
                for r, run_id in fresh
            ]
        )
        self.store.set_run_ids(task.name, [(r.user_id, run_id) for r, run_id in fresh])
        by_attempt: dict[int, list[str]] = defaultdict(list)
        for row, run_id in retried:
            by_attempt[row.attempt].append(run_id)
        for attempt, run_ids in by_attempt.items():
            self.store.set_run_status(run_ids, "claimed", attempts=attempt, now=rows[0].claimed_at, owner=self.owner)
        works = []
        for kind, kind_claims in claims.items():
            for start in range(0, len(kind_claims), task.batch_size):
                batch = tuple(kind_claims[start : start + task.batch_size])
                works.append(
                    DueWork(task.name, course.id, kind, min(c.due_at for c in batch), batch,
                            chats[kind] if kind == TriggerKind.after_messages.value and len(batch) == 1 else None)
                )
        return works
