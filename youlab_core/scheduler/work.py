"""What the scheduler hands to a handler (the runner), and what the handler gives back."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol


@dataclass(frozen=True)
class Claim:
    """One student of a batch: the lease token, the run record and the due time it was claimed for."""

    user_id: str
    token: str
    run_id: str
    due_at: datetime
    attempt: int
    claimed_at: datetime
    messages: int  # the student's message count in the course when claimed


@dataclass(frozen=True)
class DueWork:
    """A batch of students (<= the task's batch_size) for one task and trigger kind, all claimed."""

    task: str
    course_id: str
    trigger: str  # schedule | on_idle | after_messages | manual
    due_at: datetime  # the earliest due time in the batch
    claims: tuple[Claim, ...]
    chat_id: str | None = None  # after_messages: the chat whose message made it due

    @property
    def user_ids(self) -> list[str]:
        return [c.user_id for c in self.claims]

    def run_id(self, user_id: str) -> str:
        for claim in self.claims:
            if claim.user_id == user_id:
                return claim.run_id
        raise KeyError(f"user {user_id!r} is not in this batch of task {self.task!r}")


class BatchOutcome(Protocol):
    """What a handler returns for a batch it ran (the runner's `TaskRunReport` is one)."""

    def failures(self) -> Mapping[str, str]:
        """The students of the batch whose run failed, with the reason; every other student succeeded."""
        ...


class BatchFailures(dict[str, str]):
    """The simplest BatchOutcome: a dict of failed students and their reasons (empty: all succeeded)."""

    def failures(self) -> Mapping[str, str]:
        return self


@dataclass(frozen=True)
class Executed:
    """A batch the scheduler ran and settled: the handler's outcome and the failures that were recorded."""

    work: DueWork
    outcome: BatchOutcome | None
    failures: Mapping[str, str]
    crashed: bool = False  # the handler raised: `failures` holds its error for every student


Handler = Callable[[DueWork], Awaitable[BatchOutcome | None]]
"""Runs a claimed batch and returns its outcome (None: every student succeeded). It only executes: claiming and
settling are the scheduler's. An exception fails the whole batch."""
