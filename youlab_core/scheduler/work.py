"""What the scheduler hands to the runner."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime


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


class UserRunsFailed(Exception):
    """Raised by a handler when some students of the batch failed; the others count as succeeded."""

    def __init__(self, errors: Mapping[str, str]):
        self.errors = dict(errors)
        super().__init__(f"{len(self.errors)} student run(s) failed: " + "; ".join(f"{u}: {e}" for u, e in sorted(self.errors.items())))


Handler = Callable[[DueWork], Awaitable[None]]
