from datetime import timedelta

import pytest

from youlab_core.triggers import MAX_RETRY_DELAY, retry_delay


def test_doubles_from_the_base_after_each_failed_attempt() -> None:
    assert [retry_delay(a, 60).total_seconds() for a in range(1, 6)] == [60, 120, 240, 480, 960]
    assert retry_delay(3, 0.5) == timedelta(seconds=2)


def test_no_backoff_means_retry_at_once() -> None:
    assert retry_delay(1, 0) == retry_delay(50, 0) == timedelta(0)


def test_stops_growing_only_where_the_arithmetic_would_overflow() -> None:
    assert retry_delay(25, 60) == timedelta(seconds=60 * 2**24)  # 32 years: still exact
    assert retry_delay(27, 60) == MAX_RETRY_DELAY  # 127 years
    assert retry_delay(10_000, 60) == MAX_RETRY_DELAY  # no OverflowError, no huge integer


def test_refuses_impossible_inputs() -> None:
    with pytest.raises(ValueError, match="attempt must be 1 or more"):
        retry_delay(0, 60)
    with pytest.raises(ValueError, match="retry_backoff_seconds"):
        retry_delay(1, -1)
