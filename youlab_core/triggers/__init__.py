"""Trigger decisions: pure functions of stored state and a clock passed in. No I/O here.

Each kind only computes whether/when it is due; the scheduler stores state and claims work.
"""

from __future__ import annotations

from datetime import timedelta
from enum import Enum

from ..config import TaskSpec
from ..settings import Settings
from .clock import Clock, FakeClock, SystemClock, require_aware
from .counting import after_messages_due, new_messages
from .coverage import GroupResolver, StaticGroupResolver, covered_users, resolve_user_filter, user_filter_allows
from .idle import idle_due_at, idle_is_due
from .manual import check_manual
from .retry import MAX_RETRY_DELAY, retry_delay
from .schedule import CronSchedule, ScheduleDecision


class TriggerKind(str, Enum):
    schedule = "schedule"
    on_idle = "on_idle"
    after_messages = "after_messages"
    manual = "manual"


def misfire_grace(task: TaskSpec, settings: Settings) -> timedelta:
    """The task's own grace window, else the setting's."""
    minutes = task.misfire_grace_minutes if task.misfire_grace_minutes is not None else settings.misfire_grace_minutes
    return timedelta(minutes=minutes)


def task_schedule(task: TaskSpec) -> CronSchedule | None:
    return CronSchedule(task.schedule, task.timezone) if task.schedule else None


__all__ = [
    "MAX_RETRY_DELAY",
    "Clock",
    "CronSchedule",
    "FakeClock",
    "GroupResolver",
    "ScheduleDecision",
    "StaticGroupResolver",
    "SystemClock",
    "TriggerKind",
    "after_messages_due",
    "check_manual",
    "covered_users",
    "idle_due_at",
    "idle_is_due",
    "misfire_grace",
    "new_messages",
    "require_aware",
    "resolve_user_filter",
    "retry_delay",
    "task_schedule",
    "user_filter_allows",
]
