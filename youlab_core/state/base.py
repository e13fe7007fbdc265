"""The state store's role interfaces, and `StateStore`, their union.

Each consumer depends on the role it uses, not on the whole store (as APScheduler 4 keeps its data store and event
broker interfaces small): the chat path records activity (`ActivityStore`); the scheduler offers, claims and
settles work (`ClaimStore`) and keeps run records (`RunRecordStore`); the thread writer and the read-only guard use
the agent-thread registry with the agent folders the bundle made (`ThreadRegistry`); the Honcho mirror and the Letta sync use the durable queues
(`Outbox`); operators pause and resume tasks (`TaskControlStore`). `SqlStateStore` (SQLite or PostgreSQL) implements every role; a backend for one role could stand
beside it. The agent folders themselves live in Open WebUI (youlab_core.threads.backend); the registry records
which of them the bundle made.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from .records import (
    Activity,
    AgentFolderRecord,
    ClaimedRow,
    OutboxItem,
    OutboxStats,
    Retry,
    RunRecord,
    Heartbeat,
    Settlement,
    TaskAction,
    TaskCursor,
    TaskPause,
    ThreadRecord,
    TriggerState,
)


class ActivityStore(ABC):
    """Students' messages per course: written by the chat path, read by the triggers."""

    @abstractmethod
    def record_message(self, user_id: str, course_id: str, at: datetime) -> None:
        """Count one student message in a course: a single upsert."""

    @abstractmethod
    def record_messages(self, messages: Sequence[tuple[str, str, datetime]]) -> dict[tuple[str, str], int]:
        """Count several (user, course, time) messages in one transaction; returns each pair's count after it."""

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

    @abstractmethod
    def course_students(self, course_id: str, limit: int, offset: int = 0,
                        user_ids: Sequence[str] | None = None) -> tuple[int, list[tuple[Activity, int, int]]]:
        """(how many students have activity in the course, a page of them by last message, newest first, each with
        their runs and failed runs in the course); `user_ids`: only these (a search)."""


class ClaimStore(ABC):
    """Per (task, student) trigger state: what is due, who holds it (claims with leases) and how it settled; and
    per task the schedule cursor. Claiming and settling are atomic, so two workers never run the same work."""

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
    def pending_counts(self, now: datetime) -> dict[str, tuple[int, int, int]]:
        """Per task: (due now and unclaimed, due later, claimed now)."""

    @abstractmethod
    def task_cursor(self, task: str) -> TaskCursor | None: ...

    @abstractmethod
    def task_cursors(self) -> list[TaskCursor]: ...

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

    # --- claims, leases, settling ---
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
    def set_run_ids(self, task: str, pairs: Sequence[tuple[str, str]]) -> None:
        """Remember the run record of each (user, run id) while its work is pending (kept across retries)."""

    @abstractmethod
    def renew_claims(self, owner: str, tokens: Sequence[str], expires_at: datetime) -> int:
        """Extend the leases of these claims of `owner`; returns how many it still held."""

    @abstractmethod
    def settle_claims(self, task: str, completions: Sequence[Settlement], retries: Sequence[Retry]) -> set[str]:
        """Complete or reschedule many claims in one transaction; returns the users whose claim was still held
        (a claim whose lease another worker took over is left to that worker)."""

    @abstractmethod
    def release_claim(self, task: str, user_id: str, token: str) -> bool:
        """Give a claim back untouched (its work stays due)."""

    @abstractmethod
    def release_owner(self, owner: str) -> list[str]:
        """Give back every claim `owner` holds; returns their run ids."""


class RunRecordStore(ABC):
    """One record per run: what ran for whom, when, and how it ended (`youlab runs` lists them)."""

    @abstractmethod
    def create_runs(self, rows: Sequence[dict[str, Any]]) -> None: ...

    @abstractmethod
    def set_run_status(
        self,
        run_ids: Sequence[str],
        status: str,
        *,
        error: str | None = None,
        now: datetime | None = None,
        attempts: int | None = None,
        owner: str | None = None,
    ) -> None: ...

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
    def list_runs(
        self, status: str | None = None, task: str | None = None, user_id: str | None = None, limit: int = 50
    ) -> list[RunRecord]:
        """Newest first, optionally only those with this status, task or student."""

    @abstractmethod
    def run_counts(self, course_id: str) -> dict[str, tuple[int, int]]:
        """Per student of the course: (runs, of them failed for good), over every run record (one grouped read)."""


class ThreadRegistry(ABC):
    """Which Open WebUI chats are agent run threads (one source of the read-only guard), and which folders the
    bundle created for them (the thread writer writes into no other folder). Synchronous."""

    @abstractmethod
    def register_thread(
        self, chat_id: str, user_id: str, task: str, course_id: str, run_id: str | None, created_at: datetime | None = None,
        narrative: dict[str, Any] | None = None,
    ) -> None:
        """Record (or, for a retried run, rewrite) an agent thread; `narrative` is what its report says beyond the
        changes (ThreadReport.narrative)."""

    @abstractmethod
    def thread(self, chat_id: str) -> ThreadRecord | None: ...

    @abstractmethod
    def threads_for(
        self, user_id: str, task: str | None = None, course_id: str | None = None, *, open_only: bool = False,
    ) -> list[ThreadRecord]:
        """This student's threads (of a task, of a course), newest first; `open_only`: without the closed ones."""

    @abstractmethod
    def close_threads(self, chat_ids: Sequence[str], at: datetime | None = None) -> None:
        """Mark threads the thread writer archived with nothing left to decide: later runs no longer read them."""

    def is_agent_thread(self, chat_id: str) -> bool:
        return self.thread(chat_id) is not None

    @abstractmethod
    def record_folder(
        self, folder_id: str, user_id: str, task: str, course_id: str, created_at: datetime | None = None
    ) -> None:
        """Remember an agent folder the bundle created (idempotent)."""

    @abstractmethod
    def agent_folders(self, user_id: str, task: str) -> list[AgentFolderRecord]:
        """The folders the bundle created for this student and task, newest first."""

    @abstractmethod
    def forget_folder(self, folder_id: str) -> None:
        """Drop a recorded folder that was deleted or altered (the writer makes a new one)."""


class Outbox(ABC):
    """Durable named queues ("honcho": the Honcho mirror, "letta": Letta block writes).

    Each queue is bounded by Settings.outbox_max_items on its own; enqueue past it returns None and counts the
    overflow for that queue. Queue names: 1-32 characters a-z, 0-9, _ or - (ValueError otherwise).
    """

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


class TaskControlStore(ABC):
    """Paused tasks: a paused task's triggers keep counting (its students still become due) but no scheduler
    claims its work until it is resumed. Each pause and resume is recorded with who did it."""

    @abstractmethod
    def pause_task(self, task: str, course_id: str, actor: str, note: str = "") -> bool:
        """Pause a task; False when it was paused already (then nothing is recorded)."""

    @abstractmethod
    def resume_task(self, task: str, course_id: str, actor: str, note: str = "") -> bool:
        """Resume a paused task; False when it was not paused (then nothing is recorded)."""

    @abstractmethod
    def paused_tasks(self) -> dict[str, TaskPause]:
        """Every paused task by name (one small read: schedulers call it every tick)."""

    @abstractmethod
    def is_paused(self, task: str) -> bool:
        """Whether this task is paused now (one primary-key read)."""

    @abstractmethod
    def task_actions(self, task: str | None = None, limit: int = 50) -> list[TaskAction]:
        """Pauses, resumes, runs by hand and retries, newest first, optionally of one task."""

    @abstractmethod
    def record_task_action(self, task: str, course_id: str, action: str, actor: str, note: str = "") -> None:
        """Record who ran a task by hand or retried a failed run ("run", "retry"; `note`: for whom)."""

    @abstractmethod
    def record_heartbeat(self, owner: str, kind: str = "scheduler") -> None:
        """A scheduler's tick: its row's time becomes now (the first one also records when it started)."""

    @abstractmethod
    def heartbeats(self) -> list[Heartbeat]:
        """Every process's last tick, newest first."""


ROLES: tuple[type[ABC], ...] = (ActivityStore, ClaimStore, RunRecordStore, ThreadRegistry, Outbox, TaskControlStore)


class StateStore(ActivityStore, ClaimStore, RunRecordStore, ThreadRegistry, Outbox, TaskControlStore):
    """Every role in one store, as `open_store` returns it (a process opens one database for all of them)."""

    @abstractmethod
    def close(self) -> None: ...
