"""`after_messages`: run when the student's new messages in the course since the agent's last run reach N."""

from __future__ import annotations


def new_messages(messages_now: int, messages_at_last_run: int) -> int:
    # A counter that went backwards (a restored database) counts as no new messages rather than as negative.
    return max(0, messages_now - messages_at_last_run)


def after_messages_due(messages_now: int, messages_at_last_run: int, n: int) -> bool:
    if n <= 0:
        raise ValueError(f"after_messages must be a positive count, got {n}")
    return new_messages(messages_now, messages_at_last_run) >= n
