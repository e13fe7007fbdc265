"""A failed run's retries wait for their backoff (`retry_backoff_seconds * 2**(attempt-1)`) whatever its trigger:
a cron fire, an idle sweep, new messages or another manual request in the meantime never runs them early, and the
retry keeps the trigger it had. Driven by a fake clock against a real store, SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from youlab_core.config import CourseRegistry
from youlab_core.scheduler import Scheduler
from youlab_core.settings import Settings
from youlab_core.state import SqlStateStore, open_store
from youlab_core.triggers import FakeClock
from tests.support.courses import course_toml, task

from .conftest import T0, RecordingHandler, write_config

# One task per trigger kind, each with a second trigger that comes round during the backoff, and its own student.
IDLE: dict[str, Any] = {"on_idle": True, "idle_threshold_minutes": 1, "idle_cooldown_minutes": 1}
COURSE = course_toml(tasks=[
    task("minutely", schedule="* * * * *", manual=False, user_filter=["cron-student"]),
    task("idler", **IDLE, manual=False, user_filter=["idle-student"]),
    task("counter", after_messages=2, **IDLE, manual=False, user_filter=["count-student"]),
    task("by-hand", **IDLE, user_filter=["hand-student"]),
])
BACKOFF_MINUTES = 5  # attempt 1 -> 2 waits 5 minutes, 2 -> 3 waits 10
ERROR = "LLMError: upstream 503"


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def store(request: pytest.FixtureRequest, tmp_path: Path, clock: FakeClock) -> Iterator[SqlStateStore]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'state.db'}"
    else:
        url = request.getfixturevalue("postgres_server").fresh_url()
    s = open_store(url=url, clock=clock)
    yield s
    s.close()


@pytest.fixture
def registry(tmp_path: Path) -> CourseRegistry:
    reg = CourseRegistry(write_config(tmp_path, COURSE))
    assert reg.reload() == []
    return reg


@pytest.fixture
def settings() -> Settings:
    return Settings(retry_backoff_seconds=BACKOFF_MINUTES * 60, run_max_attempts=3, claim_lease_seconds=3600,
                    scheduler_max_batches=100)


async def tick_at(scheduler: Scheduler, clock: FakeClock, minute: float) -> None:
    clock.set(T0 + timedelta(minutes=minute))
    await scheduler.tick()
    await scheduler.drain()


def attempts(handler: RecordingHandler, task: str) -> list[tuple[float, str, int]]:
    """(minute claimed, trigger, attempt) of every run of `task` the handler was given."""
    return [((c.claimed_at - T0).total_seconds() / 60, w.trigger, c.attempt)
            for w in handler.calls if w.task == task for c in w.claims]


def retry_minute(store: SqlStateStore, task: str, user: str) -> float | None:
    state = store.trigger_state(task, user)
    assert state is not None
    return None if state.next_due_at is None else (state.next_due_at - T0).total_seconds() / 60


async def test_schedule_retries_wait_for_the_backoff_not_the_next_fires(
    scheduler: Scheduler, store: SqlStateStore, handler: RecordingHandler, clock: FakeClock
) -> None:
    store.record_message("cron-student", "demo", T0)
    handler.fail = {"cron-student": ERROR}
    await tick_at(scheduler, clock, 0)  # first sight of the schedule: next fire at minute 1
    await tick_at(scheduler, clock, 1)
    for minute in range(2, 6):  # four cron fires during the first backoff
        await tick_at(scheduler, clock, minute)
        assert retry_minute(store, "minutely", "cron-student") == 6
    for minute in range(6, 18):
        await tick_at(scheduler, clock, minute)
    # 1: the fire; 6 = 1 + 5; 16 = 6 + 10, the last attempt; 17: the next fire after the run failed for good.
    assert attempts(handler, "minutely") == [(1, "schedule", 1), (6, "schedule", 2), (16, "schedule", 3), (17, "schedule", 1)]
    runs = store.list_runs(task="minutely")
    assert [(r.status, r.attempts) for r in runs] == [("retrying", 1), ("failed", 3)]


async def test_idle_retries_wait_for_the_backoff_when_the_student_writes_again(
    scheduler: Scheduler, store: SqlStateStore, handler: RecordingHandler, clock: FakeClock
) -> None:
    store.record_message("idle-student", "demo", T0)
    handler.fail = {"idle-student": ERROR}
    await tick_at(scheduler, clock, 1)  # idle for the threshold: attempt 1 fails
    handler.fail = {}
    store.record_message("idle-student", "demo", T0 + timedelta(seconds=90))  # idle again from minute 2.5
    for minute in range(2, 6):
        await tick_at(scheduler, clock, minute)
        assert retry_minute(store, "idler", "idle-student") == 6
    for minute in range(6, 12):
        await tick_at(scheduler, clock, minute)
    # The retry at minute 6 covers the message written during the backoff: nothing more is due.
    assert attempts(handler, "idler") == [(1, "on_idle", 1), (6, "on_idle", 2)]
    [run] = store.list_runs(task="idler")
    assert (run.status, run.attempts) == ("succeeded", 2)


async def test_after_messages_retries_wait_for_the_backoff(
    scheduler: Scheduler, store: SqlStateStore, handler: RecordingHandler, clock: FakeClock
) -> None:
    user = "count-student"
    handler.fail = {user: ERROR}
    for _ in range(2):
        store.record_message(user, "demo", T0)
    [work] = scheduler.claim_after_messages(user, "demo", "chat-1")
    await scheduler.execute(work)  # attempt 1 fails: retry at minute 5
    handler.fail = {}
    at = T0 + timedelta(minutes=1)
    clock.set(at)
    for _ in range(2):  # the count is reached again during the backoff
        store.record_message(user, "demo", at)
    assert scheduler.claim_after_messages(user, "demo", "chat-1") == []
    # The store itself refuses too, so a check racing with the retry time cannot skip the backoff.
    assert store.claim_user("counter", "demo", user, "after_messages", "other", at, 60, messages=4, min_new_messages=2) is None
    for minute in range(1, 5):  # the idle sweep finds the student idle from minute 2
        await tick_at(scheduler, clock, minute)
        assert retry_minute(store, "counter", user) == 5
    for minute in range(5, 10):
        await tick_at(scheduler, clock, minute)
    assert attempts(handler, "counter") == [(0, "after_messages", 1), (5, "after_messages", 2)]
    assert store.get_run(work.run_id(user)).status == "succeeded"  # type: ignore[union-attr]


async def test_manual_retries_wait_for_the_backoff(
    scheduler: Scheduler, store: SqlStateStore, handler: RecordingHandler, clock: FakeClock
) -> None:
    user = "hand-student"
    store.record_message(user, "demo", T0)
    handler.fail = {user: ERROR}
    [work] = scheduler.claim_manual("by-hand", [user])
    await scheduler.execute(work)  # attempt 1 fails: retry at minute 5
    handler.fail = {}
    clock.set(T0 + timedelta(minutes=2))
    assert scheduler.claim_manual("by-hand", [user]) == []  # asking again does not skip the backoff
    for minute in range(1, 5):  # the idle sweep finds the student idle from minute 1
        await tick_at(scheduler, clock, minute)
        assert retry_minute(store, "by-hand", user) == 5
    for minute in range(5, 10):
        await tick_at(scheduler, clock, minute)
    assert attempts(handler, "by-hand") == [(0, "manual", 1), (5, "manual", 2)]
    assert store.get_run(work.run_id(user)).status == "succeeded"  # type: ignore[union-attr]
    # Once the retry has run, a manual request is taken again at once.
    [again] = scheduler.claim_manual("by-hand", [user])
    assert again.claims[0].attempt == 1
