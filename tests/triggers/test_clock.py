from datetime import UTC, datetime, timedelta, timezone

import pytest

from youlab_core.triggers import FakeClock, SystemClock


def test_fake_clock_moves_only_when_told() -> None:
    clock = FakeClock(datetime(2026, 1, 1, tzinfo=UTC))
    assert clock.now() == clock.now()
    clock.advance(minutes=5)
    assert clock.now() == datetime(2026, 1, 1, 0, 5, tzinfo=UTC)


def test_fake_clock_normalises_to_utc_and_refuses_naive() -> None:
    clock = FakeClock(datetime(2026, 1, 1, 1, tzinfo=timezone(timedelta(hours=1))))
    assert clock.now().tzinfo is UTC and clock.now().hour == 0
    with pytest.raises(ValueError):
        FakeClock(datetime(2026, 1, 1))


def test_system_clock_is_aware() -> None:
    assert SystemClock().now().tzinfo is UTC
