"""The scheduler: evaluates due triggers, claims them atomically and hands batches to a handler (the runner)."""

from .guard import ensure_scheduler_started, running_scheduler, stop_process_scheduler
from .loop import Scheduler, default_owner
from .planner import Planner
from .work import Claim, DueWork, Handler, UserRunsFailed

__all__ = [
    "Claim",
    "DueWork",
    "Handler",
    "Planner",
    "Scheduler",
    "UserRunsFailed",
    "default_owner",
    "ensure_scheduler_started",
    "running_scheduler",
    "stop_process_scheduler",
]
