"""A paused task (issue 13): its triggers keep counting (schedule fires and idle sweeps still make students due,
messages are still counted) but no scheduler claims its work; after a resume the work that became due meanwhile
runs once. The pause is in the state store, so it holds across a restart and for every process."""

from __future__ import annotations

from pathlib import Path

from youlab_core.config import CourseRegistry
from youlab_core.scheduler import Scheduler
from youlab_core.settings import Settings
from youlab_core.state import SqlStateStore, open_store
from youlab_core.triggers import FakeClock

from .conftest import T0, RecordingHandler
from .test_loop import BERLIN_FIRE, active, tick


async def test_a_paused_schedule_keeps_counting_and_runs_once_after_resume(
        scheduler: Scheduler, store: SqlStateStore, handler: RecordingHandler, clock: FakeClock) -> None:
    active(store, "u1", "u2")
    await tick(scheduler)
    assert store.pause_task("nightly", "demo", "admin@example.org")
    clock.set(BERLIN_FIRE)
    await tick(scheduler)
    assert handler.runs("nightly") == []  # not started
    assert store.pending_counts(clock.now())["nightly"] == (2, 0, 0)  # but due: the fire was counted
    assert store.task_cursor("nightly").fires == 1  # type: ignore[union-attr]
    clock.advance(minutes=30)
    await tick(scheduler)
    assert handler.runs("nightly") == []
    store.resume_task("nightly", "demo", "admin@example.org")
    await tick(scheduler)
    assert handler.runs("nightly") == [("nightly", "schedule", "u1"), ("nightly", "schedule", "u2")]
    await tick(scheduler)
    assert len(handler.runs("nightly")) == 2  # once, not once per tick while paused


async def test_a_paused_task_leaves_other_tasks_running(scheduler: Scheduler, store: SqlStateStore,
                                                        handler: RecordingHandler, clock: FakeClock) -> None:
    active(store, "u1")
    store.pause_task("idle-grader", "demo", "admin")
    await tick(scheduler)
    clock.set(BERLIN_FIRE)  # nightly fires; idle-grader's student is idle by now
    await tick(scheduler)
    assert handler.runs("nightly") == [("nightly", "schedule", "u1")]
    assert handler.runs("idle-grader") == []
    assert store.pending_counts(clock.now())["idle-grader"][0] == 1  # the idle sweep still made u1 due


async def test_messages_count_while_paused_and_the_next_one_after_resume_claims(
        scheduler: Scheduler, store: SqlStateStore, handler: RecordingHandler) -> None:
    store.pause_task("counter", "demo", "teacher@example.org")
    for _ in range(4):
        store.record_message("u1", "demo", T0)
        assert scheduler.claim_after_messages("u1", "demo") == []
    assert store.activity("u1", "demo").message_count == 4  # type: ignore[union-attr]
    store.resume_task("counter", "demo", "teacher@example.org")
    store.record_message("u1", "demo", T0)
    [work] = scheduler.claim_after_messages("u1", "demo")
    assert (work.task, work.user_ids) == ("counter", ["u1"])
    await scheduler.execute(work)
    assert [r.status for r in store.list_runs(task="counter")] == ["succeeded"]


async def test_the_pause_holds_across_a_restart(tmp_path: Path, registry: CourseRegistry, settings: Settings,
                                                clock: FakeClock) -> None:
    url = f"sqlite:///{tmp_path / 'restart.db'}"
    first_store = open_store(url=url, clock=clock)
    active(first_store, "u1")
    first_store.pause_task("nightly", "demo", "admin@example.org")
    await tick(Scheduler(first_store, registry, RecordingHandler(), settings, clock=clock))
    first_store.close()  # the process goes away while the task is paused

    clock.set(BERLIN_FIRE)
    handler = RecordingHandler()
    store = open_store(url=url, clock=clock)
    try:
        restarted = Scheduler(store, registry, handler, settings, clock=clock)
        await tick(restarted)
        assert handler.runs("nightly") == []
        [action] = store.task_actions("nightly")
        assert (action.action, action.actor) == ("pause", "admin@example.org")
        store.resume_task("nightly", "demo", "admin@example.org")
        await tick(restarted)
        assert handler.runs("nightly") == [("nightly", "schedule", "u1")]
    finally:
        store.close()


class CountingReads:
    """The state store, counting the reads an after_messages check makes."""

    def __init__(self, store: SqlStateStore) -> None:
        self._store, self.reads = store, 0

    def __getattr__(self, name: str):
        found = getattr(self._store, name)
        if name in ("activity", "trigger_state", "is_paused"):
            def counted(*args, **kwargs):
                self.reads += 1
                return found(*args, **kwargs)
            return counted
        return found


async def test_once_a_tick_saw_the_pause_a_message_reads_nothing_and_a_resume_claims_after_the_next_tick(
        scheduler: Scheduler, store: SqlStateStore) -> None:
    store.pause_task("counter", "demo", "teacher@example.org")
    await tick(scheduler)  # every process sees a pause at its next tick
    counting = CountingReads(store)
    scheduler.store = counting  # type: ignore[assignment]
    for _ in range(5):
        store.record_message("u1", "demo", T0)
        assert scheduler.claim_after_messages("u1", "demo") == []
    assert counting.reads == 0
    store.resume_task("counter", "demo", "teacher@example.org")
    await tick(scheduler)
    store.record_message("u1", "demo", T0)
    [work] = scheduler.claim_after_messages("u1", "demo")
    assert (work.task, work.user_ids) == ("counter", ["u1"])
    assert counting.reads > 0
