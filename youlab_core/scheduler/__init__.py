"""The scheduler: evaluates due triggers, claims them atomically, hands batches to a handler (the runner) and
settles them. It owns claim -> run -> settle for every trigger, manual runs included."""

from .loop import Scheduler, default_owner
from .manual import ManualRun
from .planner import Planner
from .work import BatchFailures, BatchOutcome, Claim, DueWork, Executed, Handler

__all__ = [
    "BatchFailures",
    "BatchOutcome",
    "Claim",
    "DueWork",
    "Executed",
    "Handler",
    "ManualRun",
    "Planner",
    "Scheduler",
    "default_owner",
]
