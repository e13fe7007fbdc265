from datetime import UTC, datetime, timedelta

import pytest

from youlab_core.triggers import CronSchedule


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def fires(schedule: CronSchedule, start: datetime, count: int) -> list[datetime]:
    out, t = [], start
    for _ in range(count):
        t = schedule.next_after(t)
        out.append(t)
    return out


def local(schedule: CronSchedule, instants: list[datetime]) -> list[str]:
    return [i.astimezone(schedule.zone).strftime("%m-%d %H:%M %Z") for i in instants]


class TestDaylightSaving:
    def test_new_york_spring_forward_fires_after_the_gap(self) -> None:
        # 2026-03-08: 02:00 EST jumps to 03:00 EDT; 02:30 does not exist that day.
        s = CronSchedule("30 2 * * *", "America/New_York")
        assert local(s, fires(s, utc(2026, 3, 7, 12), 3)) == ["03-08 03:00 EDT", "03-09 02:30 EDT", "03-10 02:30 EDT"]

    def test_new_york_fall_back_fires_once_at_the_first_occurrence(self) -> None:
        # 2026-11-01: 01:30 happens twice (EDT, then EST); the job runs once, at the EDT one.
        s = CronSchedule("30 1 * * *", "America/New_York")
        got = fires(s, utc(2026, 10, 31, 12), 2)
        assert got == [utc(2026, 11, 1, 5, 30), utc(2026, 11, 2, 6, 30)]
        assert local(s, got) == ["11-01 01:30 EDT", "11-02 01:30 EST"]

    def test_berlin_fall_back_hourly_never_repeats_a_wall_time(self) -> None:
        # 2026-10-25: 03:00 CEST goes back to 02:00 CET.
        s = CronSchedule("0 * * * *", "Europe/Berlin")
        got = fires(s, utc(2026, 10, 24, 22), 4)
        assert local(s, got) == ["10-25 01:00 CEST", "10-25 02:00 CEST", "10-25 03:00 CET", "10-25 04:00 CET"]
        assert all(b > a for a, b in zip(got, got[1:]))

    def test_berlin_spring_forward_every_15_minutes_in_the_gap_fires_once(self) -> None:
        # 2026-03-29: 02:00 CET jumps to 03:00 CEST. 02:00, 02:15, 02:30 and 02:45 all land on 03:00: one fire.
        s = CronSchedule("*/15 * * * *", "Europe/Berlin")
        got = fires(s, utc(2026, 3, 29, 0, 50), 3)
        assert local(s, got) == ["03-29 03:00 CEST", "03-29 03:15 CEST", "03-29 03:30 CEST"]

    def test_daily_wall_time_stays_put_across_the_change(self) -> None:
        s = CronSchedule("0 9 * * *", "Europe/Berlin")
        got = fires(s, utc(2026, 3, 27, 12), 3)
        assert local(s, got) == ["03-28 09:00 CET", "03-29 09:00 CEST", "03-30 09:00 CEST"]
        assert got[1] - got[0] == timedelta(hours=23)

    def test_naive_time_is_refused(self) -> None:
        with pytest.raises(ValueError, match="timezone-aware"):
            CronSchedule("0 9 * * *").next_after(datetime(2026, 1, 1))

    def test_bad_expression_is_refused(self) -> None:
        with pytest.raises(ValueError, match="cron"):
            CronSchedule("61 * * * *")


class TestMisfire:
    s = CronSchedule("0 * * * *", "UTC")  # hourly
    grace = timedelta(minutes=10)

    def test_not_due_yet(self) -> None:
        d = self.s.decide(utc(2026, 1, 1, 10), utc(2026, 1, 1, 9, 59), self.grace)
        assert (d.fire_at, d.skipped, d.next_fire_at) == (None, 0, utc(2026, 1, 1, 10))

    def test_due_exactly_now(self) -> None:
        d = self.s.decide(utc(2026, 1, 1, 10), utc(2026, 1, 1, 10), self.grace)
        assert (d.fire_at, d.skipped, d.next_fire_at) == (utc(2026, 1, 1, 10), 0, utc(2026, 1, 1, 11))

    def test_missed_inside_grace_fires_once(self) -> None:
        d = self.s.decide(utc(2026, 1, 1, 10), utc(2026, 1, 1, 10, 10), self.grace)
        assert (d.fire_at, d.skipped) == (utc(2026, 1, 1, 10), 0)

    def test_missed_just_outside_grace_is_skipped(self) -> None:
        d = self.s.decide(utc(2026, 1, 1, 10), utc(2026, 1, 1, 10, 10, 1), self.grace)
        assert (d.fire_at, d.skipped, d.next_fire_at) == (None, 1, utc(2026, 1, 1, 11))

    def test_older_misses_coalesce_into_the_latest_inside_grace(self) -> None:
        # Down from 10:00 to 13:05: 10, 11, 12 and 13 were missed; 13:00 is inside grace and runs once.
        d = self.s.decide(utc(2026, 1, 1, 10), utc(2026, 1, 1, 13, 5), self.grace)
        assert (d.fire_at, d.skipped, d.next_fire_at) == (utc(2026, 1, 1, 13), 3, utc(2026, 1, 1, 14))

    def test_all_misses_outside_grace_are_all_skipped(self) -> None:
        d = self.s.decide(utc(2026, 1, 1, 10), utc(2026, 1, 1, 13, 30), self.grace)
        assert (d.fire_at, d.skipped, d.next_fire_at) == (None, 4, utc(2026, 1, 1, 14))

    def test_zero_grace_runs_only_exactly_on_time(self) -> None:
        assert self.s.decide(utc(2026, 1, 1, 10), utc(2026, 1, 1, 10), timedelta(0)).fire_at == utc(2026, 1, 1, 10)
        assert self.s.decide(utc(2026, 1, 1, 10), utc(2026, 1, 1, 10, 0, 1), timedelta(0)).fire_at is None


def test_grace_comes_from_the_task_else_the_setting() -> None:
    from youlab_core.config import TaskSpec
    from youlab_core.settings import Settings
    from youlab_core.triggers import misfire_grace

    query = [{"target": "student.notes", "question": "What?"}]
    settings = Settings(misfire_grace_minutes=7)
    assert misfire_grace(TaskSpec(name="t", schedule="0 * * * *", queries=query), settings) == timedelta(minutes=7)
    own = TaskSpec(name="t", schedule="0 * * * *", misfire_grace_minutes=0, queries=query)
    assert misfire_grace(own, settings) == timedelta(0)
