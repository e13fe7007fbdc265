"""The state store interface. `SqlStateStore` (SQLite or PostgreSQL) implements it; others could stand beside it."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from .records import (
    Activity,
    ClaimedRow,
    Completion,
    OutboxItem,
    OutboxStats,
    Retry,
    RunRecord,
    TaskCursor,
    ThreadRecord,
    TriggerState,
)


class StateStore(ABC):
    # --- activity (the chat path) ---
    @abstractmethod
    def record_message(self, user_id: str, course_id: str, at: datetime) -> None:
        """Count one student message in a course: a single upsert."""

    @abstractmethod
    def activity(self, user_id: str, course_id: str) -> Activity | None: ...

    @abstractmethod
    def activities(self, course_id: str, user_ids: Sequence[str]) -> dict[str, Activity]:
        """Activity of these students in the course (those with none are left out)."""

    @abstractmethod
    def active_users(self, course_id: str) -> list[str]:
        """Every student with at least one recorded message in the course."""

    @abstractmethod
    def idle_candidates(self, course_id: str, after: float, until: float, limit: int) -> list[Activity]:
        """Students whose last message time is in (after, until], oldest first (indexed range scan)."""

    # --- trigger state and task cursors ---
    @abstractmethod
    def trigger_state(self, task: str, user_id: str) -> TriggerState | None: ...

    @abstractmethod
    def last_runs(self, task: str, user_ids: Sequence[str]) -> dict[str, tuple[datetime | None, bool]]:
        """(last run start, claimed now) of each of these users that has trigger state."""

    @abstractmethod
    def offer_due(self, task: str, course_id: str, items: Sequence[tuple[str, datetime, str]]) -> None:
        """Make (user, due time, kind) pending, keeping an earlier pending time. A claimed row remembers it for
        after its run."""

    @abstractmethod
    def task_cursor(self, task: str) -> TaskCursor | None: ...

    @abstractmethod
    def task_cursors(self) -> list[TaskCursor]: ...

    @abstractmethod
    def pending_counts(self, now: datetime) -> dict[str, tuple[int, int, int]]:
        """Per task: (due now and unclaimed, due later, claimed now)."""

    @abstractmethod
    def reset_schedule(self, task: str, course_id: str, schedule_key: str | None, next_fire_at: datetime | None) -> None:
        """Start (or restart after the cron changed) a task's schedule at `next_fire_at`."""

    @abstractmethod
    def advance_schedule(
        self,
        task: str,
        course_id: str,
        expected_next: datetime,
        next_fire_at: datetime,
        fire_at: datetime | None,
        skipped: int,
        now: datetime,
        allowed_users: set[str] | None,
    ) -> bool:
        """Atomically move the schedule from `expected_next` on; the one caller that wins also makes `fire_at` due
        for every active (allowed) student of the course, in the same transaction. Returns whether it won."""

    @abstractmethod
    def set_idle_swept(self, task: str, course_id: str, until: float) -> None: ...

    # --- claims ---
    @abstractmethod
    def has_due(self, task: str, now: datetime) -> bool:
        """Whether any student of the task is due and unclaimed (a read)."""

    @abstractmethod
    def claim_due(self, task: str, owner: str, now: datetime, lease_seconds: float, limit: int) -> list[ClaimedRow]:
        """Claim up to `limit` due, unclaimed (or lease-expired) students of a task: one atomic statement."""

    @abstractmethod
    def claim_user(
        self,
        task: str,
        course_id: str,
        user_id: str,
        kind: str,
        owner: str,
        now: datetime,
        lease_seconds: float,
        messages: int,
        chat_id: str | None = None,
        min_new_messages: int | None = None,
    ) -> ClaimedRow | None:
        """Claim one student now (after_messages, manual): one atomic upsert. With `min_new_messages`, only if
        `messages` minus the count at the last run reaches it."""

    @abstractmethod
    def renew_claims(self, owner: str, tokens: Sequence[str], expires_at: datetime) -> int: ...

    @abstractmethod
    def complete_claim(
        self,
        task: str,
        user_id: str,
        token: str,
        *,
        started_at: datetime,
        fire_at: datetime,
        messages: int,
        failed: bool,
        next_due_at: datetime | None,
        next_kind: str | None,
    ) -> bool:
        """A run finished (succeeded, or failed for good): record it and set what is pending next."""

    @abstractmethod
    def settle_claims(self, task: str, completions: Sequence[Completion], retries: Sequence[Retry]) -> set[str]:
        """Complete or reschedule many claims in one transaction; returns the users whose claim was still held."""

    @abstractmethod
    def retry_claim(self, task: str, user_id: str, token: str, retry_at: datetime) -> bool: ...

    @abstractmethod
    def release_claim(self, task: str, user_id: str, token: str) -> bool:
        """Give a claim back untouched (its work stays due)."""

    @abstractmethod
    def release_owner(self, owner: str) -> list[str]:
        """Give back every claim `owner` holds; returns their run ids."""

    # --- run records ---
    @abstractmethod
    def set_run_ids(self, task: str, pairs: Sequence[tuple[str, str]]) -> None:
        """Remember the run record of each (user, run id) while its work is pending (kept across retries)."""

    @abstractmethod
    def create_runs(self, rows: Sequence[dict[str, Any]]) -> None: ...

    @abstractmethod
    def set_run_status(self, run_ids: Sequence[str], status: str, *, error: str | None = None, now: datetime | None = None, attempts: int | None = None, owner: str | None = None) -> None: ...

    @abstractmethod
    def update_run(
        self,
        run_id: str,
        *,
        thread_chat_id: str | None = None,
        diffs_proposed: int | None = None,
        token_usage: dict[str, Any] | None = None,
        started_at: datetime | None = None,
    ) -> None: ...

    @abstractmethod
    def get_run(self, run_id: str) -> RunRecord | None: ...

    @abstractmethod
    def list_runs(self, status: str | None = None, task: str | None = None, user_id: str | None = None, limit: int = 50) -> list[RunRecord]: ...

    # --- thread registry ---
    @abstractmethod
    def register_thread(self, chat_id: str, user_id: str, task: str, course_id: str, run_id: str | None, created_at: datetime | None = None) -> None: ...

    @abstractmethod
    def thread(self, chat_id: str) -> ThreadRecord | None: ...

    @abstractmethod
    def threads_for(self, user_id: str, task: str | None = None, course_id: str | None = None) -> list[ThreadRecord]: ...

    def is_agent_thread(self, chat_id: str) -> bool:
        return self.thread(chat_id) is not None

    # --- outbox: durable named queues ("honcho": the Honcho mirror, "letta": Letta block writes) ---
    # Each queue is bounded by Settings.outbox_max_items on its own; enqueue past it returns None and counts the
    # overflow for that queue. Queue names: 1-32 characters a-z, 0-9, _ or - (ValueError otherwise).
    @abstractmethod
    def outbox_enqueue(self, payload: dict[str, Any], *, queue: str = "honcho") -> int | None: ...

    @abstractmethod
    def outbox_claim(
        self, owner: str, limit: int, lease_seconds: float, *, queue: str = "honcho", include_waiting: bool = False
    ) -> list[OutboxItem]:
        """Lease up to `limit` queued items of `queue`, oldest first. `include_waiting` also takes items still
        waiting out their retry backoff (an operator's "retry now")."""

    @abstractmethod
    def outbox_ack(self, ids: Sequence[int]) -> None: ...

    @abstractmethod
    def outbox_retry(self, ids: Sequence[int], error: str, backoff_seconds: float, *, count_attempt: bool = True) -> None:
        """Release the items for another try after `backoff_seconds`. With `count_attempt` the attempt counter grows
        and an item reaching Settings.outbox_max_attempts turns dead; without it (an outage, not the item's fault)
        the counter is left unchanged, so the item never turns dead for it."""

    @abstractmethod
    def outbox_stats(self, *, queue: str = "honcho") -> OutboxStats: ...

    @abstractmethod
    def close(self) -> None: ...
