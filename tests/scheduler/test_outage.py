"""A run that finishes while the state database is unreachable is recorded once it is back, not run again."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy.exc import OperationalError

from youlab_core.scheduler import Scheduler, loop
from youlab_core.state import SqlStateStore
from youlab_core.triggers import FakeClock

from .conftest import RecordingHandler
from .test_loop import active, tick


def fail_first(monkeypatch: pytest.MonkeyPatch, store: SqlStateStore, method: str, times: int) -> list[int]:
    """`store.<method>` raises as an unreachable PostgreSQL does for its first `times` calls."""
    original = getattr(store, method)
    calls = [0]

    def flaky(*args: Any, **kwargs: Any) -> Any:
        calls[0] += 1
        if calls[0] <= times:
            raise OperationalError("UPDATE", {}, ConnectionRefusedError("connection refused"))
        return original(*args, **kwargs)

    monkeypatch.setattr(store, method, flaky)
    return calls


@pytest.mark.parametrize("method", ["settle_claims", "set_run_status"])
async def test_an_outcome_is_recorded_after_an_outage_and_the_run_is_not_repeated(
    method: str, monkeypatch: pytest.MonkeyPatch, scheduler: Scheduler, store: SqlStateStore,
    handler: RecordingHandler, clock: FakeClock,
) -> None:
    monkeypatch.setattr(loop, "SETTLE_RETRY_FIRST_SECONDS", 0.01)
    active(store, "u1")
    clock.advance(minutes=5)
    calls = fail_first(monkeypatch, store, method, 3 if method == "settle_claims" else 2)
    await tick(scheduler)
    assert calls[0] >= 3
    [run] = store.list_runs(task="idle-grader")
    assert (run.status, run.attempts) == ("succeeded", 1)
    state = store.trigger_state("idle-grader", "u1")
    assert state is not None and state.claim_owner is None and state.runs == 1
    clock.advance(seconds=scheduler.settings.claim_lease_seconds + 60)  # past the lease: nothing left to take over
    await tick(scheduler)
    assert handler.runs("idle-grader") == [("idle-grader", "on_idle", "u1")]


async def test_it_stops_trying_before_the_lease_could_have_expired(
    monkeypatch: pytest.MonkeyPatch, scheduler: Scheduler, store: SqlStateStore, clock: FakeClock,
) -> None:
    monkeypatch.setattr(loop, "SETTLE_RETRY_FIRST_SECONDS", 0.01)
    scheduler.settings = scheduler.settings.model_copy(update={"claim_lease_seconds": 1, "poll_interval_seconds": 0.5,
                                                               "poll_jitter_seconds": 0.1})
    active(store, "u1")
    clock.advance(minutes=5)
    calls = fail_first(monkeypatch, store, "settle_claims", 10**6)
    await tick(scheduler)
    assert 1 <= calls[0] < 10  # gave up within the lease's remaining 0.4 s instead of waiting for the database
    state = store.trigger_state("idle-grader", "u1")
    assert state is not None and state.claim_owner is not None  # left for another process once the lease expires
    assert timedelta(0) < state.claim_expires_at - clock.now()  # type: ignore[operator]
