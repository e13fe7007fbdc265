from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from youlab_core.errors import ManualRunRefused
from youlab_core.scheduler import Scheduler
from youlab_core.state import SqlStateStore
from youlab_core.triggers import FakeClock

from .conftest import T0, RecordingHandler

BERLIN_FIRE = datetime(2026, 3, 29, 1, 0, tzinfo=UTC)  # 02:00 does not exist that night: 03:00 CEST


async def tick(s: Scheduler) -> None:
    await s.tick()
    await s.drain()


def active(store: SqlStateStore, *users: str, at: datetime = T0) -> None:
    for u in users:
        store.record_message(u, "demo", at)


class TestSchedule:
    async def test_fires_at_the_local_time_in_batches_for_active_students(self, scheduler: Scheduler, store: SqlStateStore,
                                                                          handler: RecordingHandler, clock: FakeClock) -> None:
        active(store, "u1", "u2", "u3")
        await tick(scheduler)  # first sight: the schedule starts at the next fire, nothing is back-filled
        assert store.task_cursor("nightly").next_fire_at == BERLIN_FIRE  # type: ignore[union-attr]
        clock.set(BERLIN_FIRE - timedelta(seconds=1))
        await tick(scheduler)
        assert handler.runs("nightly") == []
        clock.set(BERLIN_FIRE)
        await tick(scheduler)
        batches = [w for w in handler.calls if w.task == "nightly"]
        assert sorted(len(w.claims) for w in batches) == [1, 2]  # batch_size = 2
        assert {w.due_at for w in batches} == {BERLIN_FIRE}
        assert handler.runs("nightly") == [("nightly", "schedule", u) for u in ("u1", "u2", "u3")]
        runs = store.list_runs(task="nightly")
        assert sorted(r.status for r in runs) == ["succeeded"] * 3
        await tick(scheduler)  # nothing twice
        assert len(handler.runs("nightly")) == 3
        cursor = store.task_cursor("nightly")
        assert cursor is not None and (cursor.last_fire_at, cursor.next_fire_at, cursor.fires) == (
            BERLIN_FIRE, datetime(2026, 3, 30, 0, 0, tzinfo=UTC), 1)

    async def test_missed_fire_inside_grace_runs_once(self, scheduler: Scheduler, store: SqlStateStore,
                                                      handler: RecordingHandler, clock: FakeClock) -> None:
        active(store, "u1")
        await tick(scheduler)
        clock.set(BERLIN_FIRE + timedelta(minutes=10))  # grace is 10 minutes
        await tick(scheduler)
        assert handler.runs("nightly") == [("nightly", "schedule", "u1")]

    async def test_fires_missed_beyond_grace_are_skipped_and_recorded(self, scheduler: Scheduler, store: SqlStateStore,
                                                                      handler: RecordingHandler, clock: FakeClock) -> None:
        active(store, "u1")
        await tick(scheduler)
        clock.set(datetime(2026, 3, 31, 12, tzinfo=UTC))  # down for three nights
        await tick(scheduler)
        assert handler.runs("nightly") == []
        cursor = store.task_cursor("nightly")
        assert cursor is not None and (cursor.skipped_total, cursor.last_skip_count, cursor.fires) == (3, 3, 0)
        assert cursor.next_fire_at == datetime(2026, 4, 1, 0, 0, tzinfo=UTC)

    async def test_older_misses_coalesce_into_the_one_inside_grace(self, scheduler: Scheduler, store: SqlStateStore,
                                                                   handler: RecordingHandler, clock: FakeClock) -> None:
        active(store, "u1")
        await tick(scheduler)
        clock.set(datetime(2026, 3, 31, 0, 5, tzinfo=UTC))  # 3/29 and 3/30 missed, 3/31 02:00 CEST 5 minutes ago
        await tick(scheduler)
        assert handler.runs("nightly") == [("nightly", "schedule", "u1")]
        assert [w.due_at for w in handler.calls if w.task == "nightly"] == [datetime(2026, 3, 31, 0, 0, tzinfo=UTC)]
        assert store.task_cursor("nightly").skipped_total == 2  # type: ignore[union-attr]


class TestIdle:
    async def test_threshold_then_cooldown(self, scheduler: Scheduler, store: SqlStateStore, handler: RecordingHandler,
                                           clock: FakeClock) -> None:
        active(store, "u1")
        clock.advance(minutes=5, seconds=-1)
        await tick(scheduler)
        assert handler.runs("idle-grader") == []
        clock.advance(seconds=1)
        await tick(scheduler)
        assert handler.runs("idle-grader") == [("idle-grader", "on_idle", "u1")]
        run_at = clock.now()
        await tick(scheduler)
        assert len(handler.runs("idle-grader")) == 1  # no new message: not again
        clock.advance(minutes=1)
        store.record_message("u1", "demo", clock.now())
        clock.advance(minutes=10)  # idle again, but the cooldown (30 min since the run) holds
        await tick(scheduler)
        assert len(handler.runs("idle-grader")) == 1
        clock.set(run_at + timedelta(minutes=30))
        await tick(scheduler)
        assert len(handler.runs("idle-grader")) == 2

    async def test_a_student_who_keeps_writing_is_not_idle(self, scheduler: Scheduler, store: SqlStateStore,
                                                           handler: RecordingHandler, clock: FakeClock) -> None:
        for _ in range(5):
            store.record_message("u1", "demo", clock.now())
            clock.advance(minutes=4)
            await tick(scheduler)
        assert handler.runs("idle-grader") == []


class TestAfterMessages:
    def send(self, store: SqlStateStore, scheduler: Scheduler, user: str, clock: FakeClock, chat: str = "chat-1") -> list:
        # As the activity worker does: the count comes back from the write of the message.
        count = store.record_messages([(user, "demo", clock.now())])[(user, "demo")]
        return scheduler.claim_after_messages(user, "demo", chat, message_count=count)

    async def test_replies_that_cannot_reach_the_threshold_read_nothing(self, scheduler: Scheduler,
                                                                       store: SqlStateStore, clock: FakeClock,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
        reads: list[str] = []
        for name in ("activity", "trigger_state"):
            real = getattr(store, name)
            monkeypatch.setattr(store, name, lambda *a, _real=real, _name=name: reads.append(_name) or _real(*a))
        assert self.send(store, scheduler, "u1", clock) == []  # first check: reads, and remembers the last run (0)
        first = len(reads)
        assert first > 0
        assert self.send(store, scheduler, "u1", clock) == []  # 2 of 3: no read at all
        assert len(reads) == first
        assert len(self.send(store, scheduler, "u1", clock)) == 1  # 3 of 3: the full check claims

    async def test_a_stale_memo_never_claims_early(self, scheduler: Scheduler, store: SqlStateStore,
                                                   handler: RecordingHandler, clock: FakeClock, settings) -> None:
        for _ in range(2):
            self.send(store, scheduler, "u1", clock)
        # Another process runs the task for u1 meanwhile (its own scheduler): this one still remembers 0 runs.
        other = Scheduler(store, scheduler.registry, handler, settings, clock=clock, owner="other")
        store.record_message("u1", "demo", clock.now())
        [work] = other.claim_after_messages("u1", "demo", "c")
        await other.execute(work)  # the run saw 3 messages
        assert self.send(store, scheduler, "u1", clock) == []  # 4: the memo says due, the full check says not
        assert self.send(store, scheduler, "u1", clock) == []
        assert len(self.send(store, scheduler, "u1", clock)) == 1  # 6 = 3 since the other process's run

    async def test_fires_at_exactly_n_and_counts_from_the_last_run(self, scheduler: Scheduler, store: SqlStateStore,
                                                                   handler: RecordingHandler, clock: FakeClock) -> None:
        assert self.send(store, scheduler, "u1", clock) == []
        assert self.send(store, scheduler, "u1", clock) == []
        [work] = self.send(store, scheduler, "u1", clock, chat="chat-7")
        assert (work.task, work.trigger, work.user_ids, work.chat_id) == ("counter", "after_messages", ["u1"], "chat-7")
        assert self.send(store, scheduler, "u1", clock) == []  # claimed and running: not twice
        await scheduler.execute(work)
        # The run saw 3 messages; the 4th was sent after its claim, so two more reach N again.
        assert self.send(store, scheduler, "u1", clock) == []
        assert len(self.send(store, scheduler, "u1", clock)) == 1
        run = store.get_run(work.run_id("u1"))
        assert run is not None and (run.status, run.trigger, run.chat_id) == ("succeeded", "after_messages", "chat-7")

    async def test_user_filter_with_a_group(self, scheduler: Scheduler, store: SqlStateStore, clock: FakeClock) -> None:
        for _ in range(2):
            self.send(store, scheduler, "u2", clock)
            self.send(store, scheduler, "u3", clock)
        assert len(self.send(store, scheduler, "u2", clock)) == 1  # in group "cohort"
        assert self.send(store, scheduler, "u3", clock) == []  # not in the filter

    async def test_count_reached_during_a_run_is_picked_up_by_the_loop(self, scheduler: Scheduler, store: SqlStateStore,
                                                                        handler: RecordingHandler, clock: FakeClock) -> None:
        for _ in range(2):
            self.send(store, scheduler, "u1", clock)
        [work] = self.send(store, scheduler, "u1", clock)
        for _ in range(3):
            assert self.send(store, scheduler, "u1", clock) == []
        await scheduler.execute(work)
        await tick(scheduler)
        assert handler.runs("counter") == [("counter", "after_messages", "u1")] * 2

    async def test_unknown_course_or_no_activity_is_nothing(self, scheduler: Scheduler) -> None:
        assert scheduler.claim_after_messages("u1", "no-such-course", "c") == []
        assert scheduler.claim_after_messages("u1", "demo", "c") == []


class TestRetries:
    async def test_failed_user_retries_with_backoff_then_fails(self, scheduler: Scheduler, store: SqlStateStore,
                                                               handler: RecordingHandler, clock: FakeClock) -> None:
        active(store, "u1", "u2")
        handler.fail = {"u2": "LLMError: upstream 503"}
        clock.advance(minutes=5)
        await tick(scheduler)
        runs = {r.user_id: r for r in store.list_runs(task="idle-grader")}
        assert (runs["u1"].status, runs["u2"].status, runs["u2"].error) == ("succeeded", "retrying", "LLMError: upstream 503")
        clock.advance(seconds=59)
        await tick(scheduler)
        assert len(handler.runs("idle-grader")) == 2
        clock.advance(seconds=1)  # backoff 60 s after attempt 1
        await tick(scheduler)
        assert handler.calls[-1].claims[0].attempt == 2
        clock.advance(seconds=120)  # backoff 120 s after attempt 2
        await tick(scheduler)
        [failed] = store.list_runs(status="failed")
        assert (failed.user_id, failed.attempts, failed.id) == ("u2", 3, runs["u2"].id)  # one record for all attempts
        clock.advance(hours=1)
        await tick(scheduler)
        assert len(handler.runs("idle-grader")) == 4  # given up: no fourth attempt
        state = store.trigger_state("idle-grader", "u2")
        assert state is not None and (state.failures, state.next_due_at) == (1, None)

    async def test_a_crashing_handler_fails_the_whole_batch(self, scheduler: Scheduler, store: SqlStateStore,
                                                            handler: RecordingHandler, clock: FakeClock) -> None:
        active(store, "u1", "u2")
        handler.crash = RuntimeError("runner exploded")
        clock.advance(minutes=5)
        await tick(scheduler)
        runs = store.list_runs(task="idle-grader")
        assert {(r.status, r.error) for r in runs} == {("retrying", "RuntimeError: runner exploded")}


class TestShutdownAndRestart:
    async def test_stop_releases_claims_for_another_process(self, scheduler: Scheduler, store: SqlStateStore,
                                                            handler: RecordingHandler, clock: FakeClock, registry, settings) -> None:
        active(store, "u1")
        handler.block = asyncio.Event()
        clock.advance(minutes=5)
        [work] = await scheduler.tick()
        await asyncio.sleep(0.05)
        await scheduler.stop(grace_seconds=0.05)
        assert store.get_run(work.run_id("u1")).status == "released"  # type: ignore[union-attr]
        other_handler = RecordingHandler()
        other = Scheduler(store, registry, other_handler, settings, clock=clock, owner="other")
        await tick(other)
        assert other_handler.runs() == [("idle-grader", "on_idle", "u1")]
        assert store.get_run(work.run_id("u1")).status == "succeeded"  # type: ignore[union-attr]

    async def test_work_claimed_by_the_chat_path_as_the_scheduler_stops_is_given_back(
            self, scheduler: Scheduler, store: SqlStateStore, handler: RecordingHandler, clock: FakeClock) -> None:
        for _ in range(3):  # "counter": after_messages = 3
            store.record_message("u1", "demo", clock.now())
        [work] = scheduler.claim_after_messages("u1", "demo", "chat")
        await scheduler.stop(grace_seconds=0)  # the claim above was not started yet, so stop() did not see it
        assert scheduler.claim_after_messages("u1", "demo", "chat") == []  # a stopped scheduler claims nothing
        executed = await scheduler.start(work)
        assert handler.calls == [] and executed.crashed
        assert store.get_run(work.run_id("u1")).status == "released"  # type: ignore[union-attr]
        state = store.trigger_state("counter", "u1")
        assert state is not None and state.claim_owner is None

    async def test_state_and_pending_work_survive_a_restart(self, tmp_path, registry, settings, clock: FakeClock) -> None:
        from youlab_core.state import open_store

        url = f"sqlite:///{tmp_path / 'restart.db'}"
        first_store = open_store(url=url, clock=clock)
        first = Scheduler(first_store, registry, RecordingHandler(), settings, clock=clock)
        first_store.record_message("u1", "demo", clock.now())
        await tick(first)
        first_store.close()  # the process goes away before the student is idle
        clock.advance(minutes=6)
        handler = RecordingHandler()
        store = open_store(url=url, clock=clock)
        await tick(Scheduler(store, registry, handler, settings, clock=clock))
        assert handler.runs("idle-grader") == [("idle-grader", "on_idle", "u1")]
        assert store.task_cursor("nightly").next_fire_at == BERLIN_FIRE  # type: ignore[union-attr]
        store.close()


class TestManual:
    async def test_manual_false_is_refused(self, scheduler: Scheduler) -> None:
        with pytest.raises(ManualRunRefused):
            scheduler.claim_manual("nightly", ["u1"])

    async def test_manual_claims_and_skips_students_already_running(self, scheduler: Scheduler, store: SqlStateStore,
                                                                    handler: RecordingHandler) -> None:
        [work] = scheduler.claim_manual("youlab_agents.idle-grader", ["u1", "u2", "u1"])
        assert (work.trigger, work.user_ids) == ("manual", ["u1", "u2"])
        assert scheduler.claim_manual("idle-grader", ["u1", "u3"])[0].user_ids == ["u3"]
        await scheduler.execute(work)
        assert {r.status for r in store.list_runs(task="idle-grader", user_id="u1")} == {"succeeded"}

    async def test_covered_students(self, scheduler: Scheduler, store: SqlStateStore) -> None:
        active(store, "u1", "u2", "u3")
        assert scheduler.covered_students("counter") == ["u1", "u2"]
        assert scheduler.covered_students("nightly") == ["u1", "u2", "u3"]


class TestIdleSweep:
    async def test_a_large_backlog_is_swept_in_bounded_chunks_over_ticks(self, scheduler: Scheduler, store: SqlStateStore,
                                                                         handler: RecordingHandler, clock: FakeClock,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
        from youlab_core.scheduler import planner

        monkeypatch.setattr(planner, "IDLE_SWEEP_CHUNK", 3)
        monkeypatch.setattr(planner, "IDLE_SWEEP_CHUNKS_PER_TICK", 2)
        # Ten students; four share one timestamp across a chunk boundary, which must not lose any of them.
        times = [0, 1, 2, 2, 2, 2, 3, 4, 5, 6]
        for i, minute in enumerate(times):
            store.record_message(f"s{i}", "demo", T0 + timedelta(seconds=minute))
        clock.advance(minutes=10)
        for _ in range(6):
            await tick(scheduler)
        assert sorted(u for _, _, u in handler.runs("idle-grader")) == sorted(f"s{i}" for i in range(10))


class TestAfterMessagesRetry:
    async def test_more_messages_do_not_skip_a_retry_backoff(self, scheduler: Scheduler, store: SqlStateStore,
                                                              handler: RecordingHandler, clock: FakeClock) -> None:
        handler.fail = {"u1": "LLMError: 503"}
        for _ in range(2):
            store.record_message("u1", "demo", clock.now())
            assert scheduler.claim_after_messages("u1", "demo", "chat") == []
        store.record_message("u1", "demo", clock.now())
        [work] = scheduler.claim_after_messages("u1", "demo", "chat")
        await scheduler.execute(work)
        store.record_message("u1", "demo", clock.now())
        assert scheduler.claim_after_messages("u1", "demo", "chat") == []  # retry is due in 60 s, not now
        handler.fail = {}
        clock.advance(seconds=60)
        await tick(scheduler)
        assert [c.attempt for w in handler.calls for c in w.claims] == [1, 2]
        assert store.get_run(work.run_id("u1")).status == "succeeded"  # type: ignore[union-attr]


class TestStopDuringTick:
    async def test_claims_made_by_a_tick_that_ends_after_stop_are_given_back(self, scheduler: Scheduler, store: SqlStateStore,
                                                                              handler: RecordingHandler, clock: FakeClock) -> None:
        active(store, "u1")
        clock.advance(minutes=5)
        original = scheduler._plan_and_claim

        def claim_then_stop(now, capacity):  # type: ignore[no-untyped-def]
            works = original(now, capacity)
            scheduler._stopping = True  # stop() arrives while the claim is in flight
            return works

        scheduler._plan_and_claim = claim_then_stop  # type: ignore[method-assign]
        assert await scheduler.tick() == []
        assert handler.calls == []
        state = store.trigger_state("idle-grader", "u1")
        assert state is not None and state.claim_owner is None and state.next_due_at is not None
        assert [r.status for r in store.list_runs()] == ["released"]
