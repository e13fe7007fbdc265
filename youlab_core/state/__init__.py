"""The durable state store: activity, trigger state, claims, run records, thread registry, Honcho outbox."""

from .base import StateStore
from .engine import Engines, make_engines
from .migrations import LATEST as SCHEMA_VERSION
from .migrations import migrate
from .records import (
    Activity,
    ClaimedRow,
    Completion,
    OutboxItem,
    OutboxStats,
    Retry,
    RunRecord,
    RunStatus,
    TaskCursor,
    ThreadRecord,
    TriggerState,
    from_epoch,
    to_epoch,
)
from .sql_store import SqlStateStore, open_store

__all__ = [
    "SCHEMA_VERSION",
    "Activity",
    "ClaimedRow",
    "Completion",
    "Engines",
    "OutboxItem",
    "OutboxStats",
    "Retry",
    "RunRecord",
    "RunStatus",
    "SqlStateStore",
    "StateStore",
    "TaskCursor",
    "ThreadRecord",
    "TriggerState",
    "from_epoch",
    "make_engines",
    "migrate",
    "open_store",
    "to_epoch",
]
