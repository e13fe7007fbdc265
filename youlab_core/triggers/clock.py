"""Clocks. Every trigger decision takes `now` from a clock passed in, so tests drive time by hand."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Protocol


def require_aware(value: datetime, name: str = "time") -> datetime:
    """Return `value` in UTC; a naive datetime is refused (its meaning would depend on the host's zone)."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware, got naive {value.isoformat()}")
    return value.astimezone(UTC)


class Clock(Protocol):
    def now(self) -> datetime:
        """The current instant, timezone-aware (UTC)."""
        ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class FakeClock:
    """A clock that only moves when told to."""

    def __init__(self, start: datetime):
        self._now = require_aware(start, "start")

    def now(self) -> datetime:
        return self._now

    def set(self, instant: datetime) -> None:
        self._now = require_aware(instant, "instant")

    def advance(self, seconds: float = 0, minutes: float = 0, hours: float = 0) -> datetime:
        self._now += timedelta(seconds=seconds, minutes=minutes, hours=hours)
        return self._now
