"""Plain records the state store returns."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from ..triggers.clock import require_aware


def to_epoch(value: datetime) -> float:
    return require_aware(value).timestamp()


def from_epoch(value: float | None) -> datetime | None:
    return None if value is None else datetime.fromtimestamp(value, UTC)


class RunStatus:
    claimed = "claimed"
    running = "running"
    retrying = "retrying"
    succeeded = "succeeded"
    failed = "failed"
    released = "released"  # a worker stopped before finishing; the work is pending again
    ALL = ("claimed", "running", "retrying", "succeeded", "failed", "released")


@dataclass(frozen=True)
class Activity:
    user_id: str
    course_id: str
    first_message_at: datetime
    last_message_at: datetime
    message_count: int


@dataclass(frozen=True)
class TriggerState:
    task: str
    user_id: str
    course_id: str
    next_due_at: datetime | None
    due_kind: str | None
    last_run_at: datetime | None
    last_fire_at: datetime | None
    messages_at_last_run: int
    runs: int
    failures: int
    attempts: int
    run_id: str | None
    claim_owner: str | None
    claim_expires_at: datetime | None


@dataclass(frozen=True)
class ClaimedRow:
    """One (task, student) won by a claim."""

    task: str
    course_id: str
    user_id: str
    token: str
    due_at: datetime
    kind: str
    attempt: int
    run_id: str | None  # set when this is a retry of an existing run record
    chat_id: str | None
    claimed_at: datetime
    messages: int  # the student's message count in the course when claimed


@dataclass(frozen=True)
class TaskCursor:
    task: str
    course_id: str
    schedule: str | None
    next_fire_at: datetime | None
    last_fire_at: datetime | None
    fires: int
    skipped_total: int
    last_skip_at: datetime | None
    last_skip_count: int
    idle_swept_until: float


@dataclass(frozen=True)
class RunRecord:
    id: str
    task: str
    course_id: str
    user_id: str
    trigger: str
    due_at: datetime | None
    chat_id: str | None
    claimed_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    status: str
    attempts: int
    error: str | None
    owner: str | None
    thread_chat_id: str | None
    diffs_proposed: int | None
    token_usage: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ThreadRecord:
    chat_id: str
    user_id: str
    task: str
    course_id: str
    run_id: str | None
    created_at: datetime
    # What the report says beyond its changes ({"findings", "problems", "held_back"}); None for threads written
    # before schema version 7.
    narrative: dict[str, Any] | None = None
    # When the thread writer archived it with nothing left to decide (schema version 8); None: still open.
    closed_at: datetime | None = None


@dataclass(frozen=True)
class AgentFolderRecord:
    """An agent folder the bundle created in a student's chat list (Open WebUI's folder id)."""

    folder_id: str
    user_id: str
    task: str
    course_id: str
    created_at: datetime


@dataclass(frozen=True)
class OutboxItem:
    id: int
    payload: dict[str, Any]
    attempts: int
    enqueued_at: datetime


@dataclass(frozen=True)
class OutboxStats:
    queued: int
    dead: int
    overflowed: int


@dataclass(frozen=True)
class Settlement:
    """A claim settled because its run finished (succeeded, or failed for good): what the run was, and what is
    pending for the student next. (Named apart from `youlab_core.llm.Completion`, an LLM reply.)"""

    user_id: str
    token: str
    started_at: datetime
    fire_at: datetime
    messages: int
    failed: bool
    next_due_at: datetime | None
    next_kind: str | None


@dataclass(frozen=True)
class Retry:
    """A claim given back to be tried again at `retry_at` (the run failed and has attempts left)."""

    user_id: str
    token: str
    retry_at: datetime


@dataclass(frozen=True)
class TaskPause:
    """A paused task: who paused it, when, and why (their note)."""

    task: str
    course_id: str
    paused_at: datetime
    paused_by: str
    note: str


@dataclass(frozen=True)
class TaskAction:
    """One pause, resume, run by hand or retry of a task, with who did it."""

    task: str
    course_id: str
    action: str  # "pause" | "resume" | "run" | "retry"
    actor: str
    at: datetime
    note: str


@dataclass(frozen=True)
class Heartbeat:
    """A scheduler process's last tick (`owner`: host:pid:id, as the scheduler names itself)."""

    owner: str
    kind: str
    started_at: datetime
    at: datetime
