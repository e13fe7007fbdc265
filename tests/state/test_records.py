from datetime import timedelta

from youlab_core.state import SqlStateStore, to_epoch
from youlab_core.triggers import FakeClock

from .conftest import T0, find_run


def run_row(run_id: str, user: str, task: str = "t", status: str = "claimed", minutes: int = 0) -> dict[str, object]:
    return {"id": run_id, "task": task, "course_id": "c", "user_id": user, "trigger": "schedule", "due_at": to_epoch(T0),
            "claimed_at": to_epoch(T0 + timedelta(minutes=minutes)), "status": status, "attempts": 1, "owner": "w1"}


def test_run_records_lifecycle_and_filters(store: SqlStateStore) -> None:
    store.create_runs([run_row("r1", "u1"), run_row("r2", "u2", minutes=1), run_row("r3", "u1", task="other", minutes=2)])
    store.set_run_status(["r1"], "running", now=T0)
    store.update_run("r1", thread_chat_id="chat-9", diffs_proposed=3, token_usage={"prompt_tokens": 10, "completion_tokens": 5})
    store.set_run_status(["r1"], "succeeded", now=T0 + timedelta(seconds=5))
    store.set_run_status(["r2"], "failed", error="LLMError: timeout", now=T0 + timedelta(seconds=7))
    r1 = find_run(store, "r1")
    assert r1 is not None
    assert (r1.status, r1.started_at, r1.finished_at, r1.thread_chat_id, r1.diffs_proposed) == (
        "succeeded", T0, T0 + timedelta(seconds=5), "chat-9", 3)
    assert r1.token_usage == {"completion_tokens": 5, "prompt_tokens": 10}
    assert [r.id for r in store.list_runs()] == ["r3", "r2", "r1"]  # newest first
    assert [r.id for r in store.list_runs(status="failed")] == ["r2"]
    assert store.list_runs(status="failed")[0].error == "LLMError: timeout"
    assert [r.id for r in store.list_runs(task="t", user_id="u1")] == ["r1"]
    assert [r.id for r in store.list_runs(limit=1)] == ["r3"]
    assert find_run(store, "nope") is None


def test_thread_registry(store: SqlStateStore) -> None:
    store.register_thread("chat-1", "u1", "grader", "c", "run-1", created_at=T0)
    store.register_thread("chat-2", "u1", "grader", "c", "run-2", created_at=T0 + timedelta(days=1))
    store.register_thread("chat-3", "u1", "other", "c", "run-3", created_at=T0)
    store.register_thread("chat-1", "u1", "grader", "c", "run-1", created_at=T0)  # idempotent
    thread = store.thread("chat-1")
    assert thread is not None and (thread.user_id, thread.task, thread.run_id, thread.created_at) == ("u1", "grader", "run-1", T0)
    assert [t.chat_id for t in store.threads_for("u1", task="grader")] == ["chat-2", "chat-1"]
    assert len(store.threads_for("u1")) == 3 and store.threads_for("u2") == []
    assert store.is_agent_thread("chat-3") and not store.is_agent_thread("chat-4")


def test_a_threads_narrative_is_stored_and_a_retry_rewrites_it(store: SqlStateStore) -> None:
    told = {"findings": [{"question": "Which school?", "target": "student.schools", "answer": "Nothing new.", "error": ""}],
            "problems": [], "held_back": ["`student.schools`: Stanford"]}
    store.register_thread("chat-1", "u1", "grader", "c", "run-1", created_at=T0, narrative=told)
    thread = store.thread("chat-1")
    assert thread is not None and thread.narrative == told
    store.register_thread("chat-1", "u1", "grader", "c", "run-1", created_at=T0, narrative={"problems": ["late"]})
    assert store.threads_for("u1")[0].narrative == {"problems": ["late"]}


def test_closed_threads_are_left_out_of_the_open_ones(store: SqlStateStore) -> None:
    for i, chat in enumerate(("chat-1", "chat-2", "chat-3")):
        store.register_thread(chat, "u1", "grader", "c", f"run-{i}", created_at=T0 + timedelta(minutes=i))
    store.close_threads(["chat-1", "chat-2"], at=T0)
    store.close_threads([])
    assert [t.chat_id for t in store.threads_for("u1", task="grader", open_only=True)] == ["chat-3"]
    assert [t.chat_id for t in store.threads_for("u1", task="grader")] == ["chat-3", "chat-2", "chat-1"]
    closed = store.thread("chat-1")
    assert closed is not None and closed.closed_at == T0 and store.thread("chat-3").closed_at is None


def test_agent_folders_are_recorded_per_student_and_task(store: SqlStateStore) -> None:
    store.record_folder("f-1", "u1", "grader", "c", created_at=T0)
    store.record_folder("f-2", "u1", "grader", "c", created_at=T0 + timedelta(days=1))
    store.record_folder("f-3", "u1", "other", "c", created_at=T0)
    store.record_folder("f-4", "u2", "grader", "c", created_at=T0)
    store.record_folder("f-1", "u1", "grader", "c", created_at=T0 + timedelta(days=5))  # idempotent: kept as first made
    assert [f.folder_id for f in store.agent_folders("u1", "grader")] == ["f-2", "f-1"]
    first = store.agent_folders("u1", "grader")[1]
    assert (first.user_id, first.task, first.course_id, first.created_at) == ("u1", "grader", "c", T0)
    assert [f.folder_id for f in store.agent_folders("u2", "grader")] == ["f-4"]
    assert store.agent_folders("u1", "nothing") == []
    store.forget_folder("f-2")
    store.forget_folder("f-unknown")  # nothing to forget is fine
    assert [f.folder_id for f in store.agent_folders("u1", "grader")] == ["f-1"]


def test_outbox_claim_ack_and_lease(store: SqlStateStore, clock: FakeClock) -> None:
    ids = [store.outbox_enqueue({"n": i}) for i in range(3)]
    assert all(isinstance(i, int) for i in ids)
    batch = store.outbox_claim("w1", 2, lease_seconds=30)
    assert [i.payload for i in batch] == [{"n": 0}, {"n": 1}]
    assert [i.payload for i in store.outbox_claim("w2", 10, lease_seconds=30)] == [{"n": 2}]
    assert store.outbox_claim("w2", 10, lease_seconds=30) == []
    store.outbox_ack([batch[0].id])
    clock.advance(seconds=31)  # w1's lease on the second item expired: it can be taken over
    assert [i.payload for i in store.outbox_claim("w2", 10, lease_seconds=30)] == [{"n": 1}, {"n": 2}]


def test_outbox_retry_backs_off_then_goes_dead(store: SqlStateStore, clock: FakeClock) -> None:
    store.outbox_enqueue({"n": 1})
    [item] = store.outbox_claim("w1", 10, 30)
    store.outbox_retry([item.id], "honcho 503", backoff_seconds=10)
    assert store.outbox_claim("w1", 10, 30) == []
    clock.advance(seconds=10)
    [again] = store.outbox_claim("w1", 10, 30)
    assert again.attempts == 1
    store.outbox_retry([again.id], "honcho 503", backoff_seconds=10)  # outbox_max_attempts = 2 in the fixture
    clock.advance(seconds=60)
    assert store.outbox_claim("w1", 10, 30) == []
    assert store.outbox_stats().dead == 1


def test_outbox_is_bounded_and_counts_overflow(store: SqlStateStore) -> None:
    for i in range(5):  # outbox_max_items = 5 in the fixture
        assert store.outbox_enqueue({"n": i}) is not None
    assert store.outbox_enqueue({"n": 5}) is None
    assert store.outbox_enqueue({"n": 6}) is None
    stats = store.outbox_stats()
    assert (stats.queued, stats.overflowed) == (5, 2)
    [first] = store.outbox_claim("w", 1, 30)
    store.outbox_ack([first.id])
    assert store.outbox_enqueue({"n": 7}) is not None


def test_outbox_queues_are_separate(store: SqlStateStore) -> None:
    honcho = store.outbox_enqueue({"to": "honcho"})
    letta = store.outbox_enqueue({"to": "letta"}, queue="letta")
    assert honcho is not None and letta is not None
    assert [i.payload for i in store.outbox_claim("w", 10, 30, queue="letta")] == [{"to": "letta"}]
    assert [i.payload for i in store.outbox_claim("w", 10, 30)] == [{"to": "honcho"}]  # default queue: "honcho"
    store.outbox_ack([letta])
    assert (store.outbox_stats(queue="letta").queued, store.outbox_stats().queued) == (0, 1)


def test_outbox_bound_and_overflow_are_per_queue(store: SqlStateStore) -> None:
    for i in range(5):  # outbox_max_items = 5 in the fixture
        assert store.outbox_enqueue({"n": i}) is not None
    assert store.outbox_enqueue({"n": 5}) is None
    for i in range(5):  # a full Honcho queue does not hold Letta records back
        assert store.outbox_enqueue({"n": i}, queue="letta") is not None
    assert store.outbox_enqueue({"n": 5}, queue="letta") is None
    assert store.outbox_enqueue({"n": 6}, queue="letta") is None
    honcho, letta = store.outbox_stats(), store.outbox_stats(queue="letta")
    assert (honcho.queued, honcho.overflowed) == (5, 1)
    assert (letta.queued, letta.overflowed) == (5, 2)


def test_outbox_retry_without_counting_never_turns_dead(store: SqlStateStore, clock: FakeClock) -> None:
    store.outbox_enqueue({"n": 1}, queue="letta")
    for _ in range(5):  # outbox_max_attempts = 2 in the fixture
        [item] = store.outbox_claim("w", 10, 30, queue="letta")
        assert item.attempts == 0
        store.outbox_retry([item.id], "letta down", backoff_seconds=10, count_attempt=False)
        assert store.outbox_claim("w", 10, 30, queue="letta") == []  # the backoff still applies
        clock.advance(seconds=11)
    assert (store.outbox_stats(queue="letta").queued, store.outbox_stats(queue="letta").dead) == (1, 0)
    [item] = store.outbox_claim("w", 10, 30, queue="letta")
    store.outbox_retry([item.id], "refused", backoff_seconds=0)
    assert store.outbox_claim("w", 10, 30, queue="letta")[0].attempts == 1  # counted again by default


def test_outbox_claim_can_include_items_in_backoff(store: SqlStateStore, clock: FakeClock) -> None:
    store.outbox_enqueue({"n": 1})
    [item] = store.outbox_claim("w1", 10, 30)
    assert store.outbox_claim("w2", 10, 30, include_waiting=True) == []  # leased: never taken, even when forced
    store.outbox_retry([item.id], "down", backoff_seconds=600)
    assert store.outbox_claim("w2", 10, 30) == []
    assert [i.id for i in store.outbox_claim("w2", 10, 30, include_waiting=True)] == [item.id]


def test_outbox_queue_names_are_checked(store: SqlStateStore) -> None:
    import pytest

    for bad in ("", "Letta", "a b", "x" * 33):
        with pytest.raises(ValueError, match="outbox queue name"):
            store.outbox_enqueue({"n": 1}, queue=bad)


def test_run_counts_per_student_of_a_course(store: SqlStateStore) -> None:
    rows = [("r1", "c", "u1", "succeeded"), ("r2", "c", "u1", "failed"), ("r3", "c", "u2", "retrying"),
            ("r4", "other", "u1", "failed")]
    store.create_runs([{"id": i, "task": "t", "course_id": c, "user_id": u, "trigger": "manual", "claimed_at": 1.0,
                        "status": s, "attempts": 1} for i, c, u, s in rows])
    assert store.run_counts("c") == {"u1": (2, 1), "u2": (1, 0)}
    assert store.run_counts("nowhere") == {}
