"""The durable state store: activity, trigger state, claims, run records, thread registry, outbox queues.

Consumers depend on the role they use (`ActivityStore`, `ClaimStore`, `RunRecordStore`, `ThreadRegistry`,
`Outbox`, `TaskControlStore`); `StateStore` is all of them, as `open_store` returns it.
"""

from .base import ActivityStore, ClaimStore, Outbox, RunRecordStore, StateStore, TaskControlStore, ThreadRegistry
from .engine import Engines, make_engines
from .migrations import LATEST as SCHEMA_VERSION
from .migrations import migrate
from .records import (
    Activity,
    AgentFolderRecord,
    ClaimedRow,
    Heartbeat,
    OutboxItem,
    OutboxStats,
    Retry,
    RunRecord,
    RunStatus,
    Settlement,
    TaskAction,
    TaskCursor,
    TaskPause,
    ThreadRecord,
    TriggerState,
    from_epoch,
    to_epoch,
)
from .sql_store import SqlStateStore, open_store

__all__ = [
    "SCHEMA_VERSION",
    "Activity",
    "ActivityStore",
    "AgentFolderRecord",
    "ClaimStore",
    "ClaimedRow",
    "Engines",
    "Heartbeat",
    "Outbox",
    "OutboxItem",
    "OutboxStats",
    "Retry",
    "RunRecord",
    "RunRecordStore",
    "RunStatus",
    "Settlement",
    "SqlStateStore",
    "StateStore",
    "TaskAction",
    "TaskControlStore",
    "TaskCursor",
    "TaskPause",
    "ThreadRecord",
    "ThreadRegistry",
    "TriggerState",
    "from_epoch",
    "make_engines",
    "migrate",
    "open_store",
    "to_epoch",
]
