"""`on_idle`: run once a student has gone quiet, if they said something since the agent last ran for them."""

from __future__ import annotations

from datetime import datetime, timedelta

from .clock import require_aware


def idle_due_at(
    last_message_at: datetime | None,
    last_run_at: datetime | None,
    threshold: timedelta,
    cooldown: timedelta,
) -> datetime | None:
    """When the idle trigger is due, or None when it is not pending at all.

    Pending: there is a message strictly after the last run (or no run yet). Due at the later of
    last message + threshold and last run + cooldown. It is due at exactly that instant (`now >= due`).
    """
    if last_message_at is None:
        return None
    last_message_at = require_aware(last_message_at, "last_message_at")
    if last_run_at is not None:
        last_run_at = require_aware(last_run_at, "last_run_at")
        if last_message_at <= last_run_at:
            return None
    due = last_message_at + threshold
    if last_run_at is not None:
        due = max(due, last_run_at + cooldown)
    return due


def idle_is_due(
    now: datetime,
    last_message_at: datetime | None,
    last_run_at: datetime | None,
    threshold: timedelta,
    cooldown: timedelta,
) -> bool:
    due = idle_due_at(last_message_at, last_run_at, threshold, cooldown)
    return due is not None and require_aware(now, "now") >= due
