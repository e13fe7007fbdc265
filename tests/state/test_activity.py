from datetime import timedelta

from youlab_core.state import SqlStateStore, to_epoch

from .conftest import T0


def test_record_message_counts_and_keeps_the_latest_time(store: SqlStateStore) -> None:
    store.record_message("u1", "c1", T0)
    store.record_message("u1", "c1", T0 + timedelta(minutes=2))
    store.record_message("u1", "c1", T0 + timedelta(minutes=1))  # recorded late: does not move time back
    act = store.activity("u1", "c1")
    assert act is not None
    assert (act.message_count, act.first_message_at, act.last_message_at) == (3, T0, T0 + timedelta(minutes=2))


def test_courses_and_students_are_counted_apart(store: SqlStateStore) -> None:
    store.record_message("u1", "c1", T0)
    store.record_message("u1", "c2", T0)
    store.record_message("u2", "c1", T0)
    assert store.activity("u1", "c1").message_count == 1  # type: ignore[union-attr]
    assert store.activity("u3", "c1") is None
    assert store.active_users("c1") == ["u1", "u2"]
    assert store.active_users("c2") == ["u1"]


def test_idle_candidates_is_a_half_open_time_range_oldest_first(store: SqlStateStore) -> None:
    for i, user in enumerate(["a", "b", "c", "d"]):
        store.record_message(user, "c1", T0 + timedelta(minutes=i))
    store.record_message("x", "other", T0 + timedelta(minutes=1))
    got = store.idle_candidates("c1", to_epoch(T0), to_epoch(T0 + timedelta(minutes=2)), 10)
    assert [a.user_id for a in got] == ["b", "c"]
    assert [a.user_id for a in store.idle_candidates("c1", 0.0, to_epoch(T0 + timedelta(hours=1)), 2)] == ["a", "b"]


def test_record_messages_counts_a_batch_in_order_and_returns_each_count(store: SqlStateStore) -> None:
    counts = store.record_messages([("u1", "c1", T0), ("u2", "c1", T0), ("u1", "c1", T0 + timedelta(minutes=1))])
    assert counts == {("u1", "c1"): 2, ("u2", "c1"): 1}  # the count after the pair's last message of the batch
    assert store.record_messages([]) == {}
    assert store.record_messages([("u1", "c1", T0 + timedelta(minutes=2))]) == {("u1", "c1"): 3}
    act = store.activity("u1", "c1")
    assert act is not None and act.last_message_at == T0 + timedelta(minutes=2)


def test_counting_a_message_is_a_statement_sqlalchemy_caches() -> None:
    # A dialect's INSERT ... ON CONFLICT has no cache key, so it was compiled again on every message (most of what
    # counting cost); the text statement is compiled once.
    from youlab_core.state.sql_triggers import RECORD_MESSAGE

    assert RECORD_MESSAGE._generate_cache_key() is not None
