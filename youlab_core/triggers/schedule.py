"""`schedule`: cron expressions evaluated in the task's own timezone.

croniter is run over *naive local wall-clock times* and each result is placed in the zone by us, because that
makes the DST rules explicit (they are those of Vixie cron):
- a wall time that does not exist (spring forward) fires at the first instant after the gap;
- a wall time that occurs twice (fall back) fires once, at its first occurrence;
- fire instants are strictly increasing, so two wall times that land on the same instant fire once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from croniter import croniter

from .clock import require_aware

# A gap longer than this (in minutes) does not occur in the tz database; it bounds the search below.
_MAX_GAP_MINUTES = 24 * 60
# Counting missed fires after a long outage is bounded; beyond this the skip count is a lower bound.
MAX_COUNTED_MISSES = 100_000


@dataclass(frozen=True)
class ScheduleDecision:
    """What to do at `now` for a schedule whose next expected fire was `next_fire_at`."""

    fire_at: datetime | None  # the fire to run now (the latest missed one, if inside the grace window)
    skipped: int  # missed fires that will not run: older ones coalesced, or all of them when out of grace
    next_fire_at: datetime  # the first fire strictly after now


def _exists(local: datetime, zone: ZoneInfo) -> bool:
    aware = local.replace(tzinfo=zone, fold=0)
    return aware.astimezone(UTC).astimezone(zone).replace(tzinfo=None) == local


class CronSchedule:
    def __init__(self, expr: str, timezone: str = "UTC"):
        if not croniter.is_valid(expr):
            raise ValueError(f"{expr!r} is not a cron expression croniter accepts")
        self.expr = expr
        self.timezone = timezone
        self.zone = ZoneInfo(timezone)

    def _place(self, local: datetime) -> datetime:
        """The UTC instant a local wall time fires at (see the module docstring for gaps and folds)."""
        if _exists(local, self.zone):
            return local.replace(tzinfo=self.zone, fold=0).astimezone(UTC)
        probe = local.replace(second=0, microsecond=0)
        for _ in range(_MAX_GAP_MINUTES):
            probe += timedelta(minutes=1)
            if _exists(probe, self.zone):
                return probe.replace(tzinfo=self.zone, fold=0).astimezone(UTC)
        raise ValueError(f"no valid local time after {local} in {self.timezone}")  # pragma: no cover

    def next_after(self, instant: datetime) -> datetime:
        """The first fire strictly after `instant` (UTC)."""
        instant = require_aware(instant, "instant")
        local = instant.astimezone(self.zone).replace(tzinfo=None)
        it = croniter(self.expr, local)
        while True:
            candidate = self._place(it.get_next(datetime))
            if candidate > instant:
                return candidate

    def decide(self, next_fire_at: datetime, now: datetime, grace: timedelta) -> ScheduleDecision:
        """Given the fire that was expected next, decide at `now`.

        Not yet due: nothing. Due: the latest fire <= now runs if now - fire <= grace; every older missed fire is
        coalesced into it (counted as skipped). Out of grace: nothing runs, every missed fire is skipped.
        """
        next_fire_at = require_aware(next_fire_at, "next_fire_at")
        now = require_aware(now, "now")
        if next_fire_at > now:
            return ScheduleDecision(None, 0, next_fire_at)
        latest, missed = next_fire_at, 1
        while missed < MAX_COUNTED_MISSES:
            following = self.next_after(latest)
            if following > now:
                return self._settle(latest, missed, following, now, grace)
            latest, missed = following, missed + 1
        # After a very long outage stop counting and jump to now.
        following = self.next_after(now)
        return ScheduleDecision(None, missed, following)

    @staticmethod
    def _settle(latest: datetime, missed: int, following: datetime, now: datetime, grace: timedelta) -> ScheduleDecision:
        if now - latest <= grace:
            return ScheduleDecision(latest, missed - 1, following)
        return ScheduleDecision(None, missed, following)
