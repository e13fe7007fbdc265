from datetime import UTC, datetime, timedelta

from youlab_core.triggers import FakeClock, idle_due_at, idle_is_due

T0 = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
THRESHOLD = timedelta(minutes=5)
COOLDOWN = timedelta(minutes=30)


def due(clock: FakeClock, last_message: datetime | None, last_run: datetime | None) -> bool:
    return idle_is_due(clock.now(), last_message, last_run, THRESHOLD, COOLDOWN)


def test_no_message_never_due() -> None:
    assert idle_due_at(None, None, THRESHOLD, COOLDOWN) is None


def test_threshold_boundary() -> None:
    clock = FakeClock(T0)
    clock.advance(minutes=5, seconds=-1)
    assert not due(clock, T0, None)
    clock.advance(seconds=1)
    assert due(clock, T0, None)  # exactly threshold minutes after the last message


def test_no_message_since_the_last_run_is_not_due() -> None:
    clock = FakeClock(T0 + timedelta(hours=5))
    assert not due(clock, T0, T0 + timedelta(minutes=6))
    assert not due(clock, T0, T0)  # a message at the very instant of the run was seen by it


def test_cooldown_boundary() -> None:
    run = T0
    message = T0 + timedelta(minutes=1)  # written after the run; idle from 12:06, but cooldown until 12:30
    assert idle_due_at(message, run, THRESHOLD, COOLDOWN) == run + COOLDOWN
    clock = FakeClock(run + COOLDOWN - timedelta(seconds=1))
    assert not due(clock, message, run)
    clock.advance(seconds=1)
    assert due(clock, message, run)


def test_threshold_later_than_cooldown_wins() -> None:
    run = T0
    message = T0 + timedelta(minutes=40)
    assert idle_due_at(message, run, THRESHOLD, COOLDOWN) == message + THRESHOLD


def test_a_new_message_moves_the_due_time() -> None:
    first = idle_due_at(T0, None, THRESHOLD, COOLDOWN)
    second = idle_due_at(T0 + timedelta(minutes=3), None, THRESHOLD, COOLDOWN)
    assert first is not None and second is not None and second - first == timedelta(minutes=3)
