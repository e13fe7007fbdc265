"""The retry backoff of a failed run: `base * 2**(attempt-1)` after attempt `attempt` failed. Pure, so the
scheduler and its tests compute the same retry time from a clock passed in."""

from __future__ import annotations

from datetime import timedelta

# Not a policy: only keeps the arithmetic finite (a doubling past ~20 attempts overflows timedelta). A delay this
# long means "never" in practice; run_max_attempts is what bounds retries.
MAX_RETRY_DELAY = timedelta(days=365 * 100)


def retry_delay(attempt: int, base_seconds: float) -> timedelta:
    """How long to wait before the next attempt once attempt number `attempt` (1 = the first run) failed."""
    if attempt < 1:
        raise ValueError(f"attempt must be 1 or more, got {attempt}")
    if base_seconds < 0:
        raise ValueError(f"retry_backoff_seconds must be 0 or more, got {base_seconds}")
    limit = MAX_RETRY_DELAY.total_seconds()
    if base_seconds == 0:
        return timedelta(0)
    # Compare exponents before multiplying, so a huge attempt number never builds a huge integer.
    if attempt - 1 >= 64 or base_seconds * 2 ** (attempt - 1) >= limit:
        return MAX_RETRY_DELAY
    return timedelta(seconds=base_seconds * 2 ** (attempt - 1))
