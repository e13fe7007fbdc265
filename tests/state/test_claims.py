from datetime import timedelta

from youlab_core.state import SqlStateStore

from .conftest import T0, complete, retry

LEASE = 60


def test_only_due_rows_are_claimed_and_an_earlier_offer_wins(store: SqlStateStore) -> None:
    store.offer_due("t", "c", [("u1", T0, "schedule"), ("u2", T0 + timedelta(minutes=5), "on_idle")])
    store.offer_due("t", "c", [("u1", T0 + timedelta(minutes=9), "on_idle")])  # later: ignored
    got = store.claim_due("t", "w1", T0, LEASE, 10)
    assert [(c.user_id, c.due_at, c.kind, c.attempt) for c in got] == [("u1", T0, "schedule", 1)]


def test_a_claimed_row_is_not_won_twice_until_its_lease_expires(store: SqlStateStore) -> None:
    store.offer_due("t", "c", [("u1", T0, "schedule")])
    first = store.claim_due("t", "w1", T0, LEASE, 10)
    assert len(first) == 1
    assert store.claim_due("t", "w2", T0 + timedelta(seconds=LEASE - 1), LEASE, 10) == []
    taken = store.claim_due("t", "w2", T0 + timedelta(seconds=LEASE + 1), LEASE, 10)
    assert [(c.user_id, c.attempt) for c in taken] == [("u1", 2)]
    # The first owner's late completion is refused: its token no longer holds the row.
    assert not complete(store, "t", "u1", first[0].token)
    assert complete(store, "t", "u1", taken[0].token)
    state = store.trigger_state("t", "u1")
    assert state is not None and (state.next_due_at, state.runs, state.claim_owner, state.last_run_at) == (None, 1, None, T0)


def test_renewed_lease_is_not_taken_over(store: SqlStateStore) -> None:
    store.offer_due("t", "c", [("u1", T0, "schedule")])
    [claim] = store.claim_due("t", "w1", T0, LEASE, 10)
    assert store.renew_claims("w1", [claim.token], T0 + timedelta(seconds=LEASE * 3)) == 1
    assert store.claim_due("t", "w2", T0 + timedelta(seconds=LEASE * 2), LEASE, 10) == []


def test_claim_limit_takes_the_earliest_due(store: SqlStateStore) -> None:
    store.offer_due("t", "c", [(f"u{i}", T0 - timedelta(minutes=i), "schedule") for i in range(5)])
    got = store.claim_due("t", "w1", T0, LEASE, 2)
    assert sorted(c.user_id for c in got) == ["u3", "u4"]


def test_retry_keeps_the_work_due_later_and_counts_attempts(store: SqlStateStore) -> None:
    store.offer_due("t", "c", [("u1", T0, "on_idle")])
    [claim] = store.claim_due("t", "w1", T0, LEASE, 10)
    assert retry(store, "t", "u1", claim.token, T0 + timedelta(minutes=1))
    assert store.claim_due("t", "w1", T0 + timedelta(seconds=59), LEASE, 10) == []
    [again] = store.claim_due("t", "w1", T0 + timedelta(minutes=1), LEASE, 10)
    assert (again.kind, again.attempt) == ("on_idle", 2)


def test_release_gives_the_work_back_untouched(store: SqlStateStore) -> None:
    store.offer_due("t", "c", [("u1", T0, "schedule"), ("u2", T0, "schedule")])
    claims = store.claim_due("t", "w1", T0, LEASE, 10)
    store.set_run_ids("t", [(c.user_id, f"run-{c.user_id}") for c in claims])
    assert sorted(store.release_owner("w1")) == ["run-u1", "run-u2"]
    again = store.claim_due("t", "w2", T0, LEASE, 10)
    assert sorted((c.user_id, c.attempt, c.run_id) for c in again) == [("u1", 1, "run-u1"), ("u2", 1, "run-u2")]


def test_a_schedule_fire_during_a_run_is_kept_for_after_it(store: SqlStateStore) -> None:
    store.offer_due("t", "c", [("u1", T0, "on_idle")])
    [claim] = store.claim_due("t", "w1", T0, LEASE, 10)
    store.offer_due("t", "c", [("u1", T0 + timedelta(minutes=1), "schedule")])
    assert complete(store, "t", "u1", claim.token, next_due_at=T0 + timedelta(hours=1), next_kind="on_idle")
    state = store.trigger_state("t", "u1")
    assert state is not None and (state.next_due_at, state.due_kind) == (T0 + timedelta(minutes=1), "schedule")


def test_complete_sets_the_next_due_when_no_fire_is_waiting(store: SqlStateStore) -> None:
    store.offer_due("t", "c", [("u1", T0, "schedule")])
    [claim] = store.claim_due("t", "w1", T0, LEASE, 10)
    complete(store, "t", "u1", claim.token, messages=4, failed=True, next_due_at=T0 + timedelta(minutes=30),
             next_kind="on_idle")
    state = store.trigger_state("t", "u1")
    assert state is not None
    assert (state.next_due_at, state.due_kind, state.failures, state.runs, state.messages_at_last_run) == (
        T0 + timedelta(minutes=30), "on_idle", 1, 0, 4)


def test_claim_user_needs_enough_new_messages_and_a_free_row(store: SqlStateStore) -> None:
    got = store.claim_user("t", "c", "u1", "after_messages", "w1", T0, LEASE, messages=3, chat_id="chat-1", min_new_messages=3)
    assert got is not None and (got.kind, got.chat_id, got.messages, got.due_at) == ("after_messages", "chat-1", 3, T0)
    # Held: nobody else wins it, whatever the count.
    assert store.claim_user("t", "c", "u1", "after_messages", "w2", T0, LEASE, messages=9, min_new_messages=1) is None
    complete(store, "t", "u1", got.token, messages=3)
    assert store.claim_user("t", "c", "u1", "after_messages", "w2", T0, LEASE, messages=5, min_new_messages=3) is None
    assert store.claim_user("t", "c", "u1", "after_messages", "w2", T0, LEASE, messages=6, min_new_messages=3) is not None


def test_claim_captures_the_students_message_count(store: SqlStateStore) -> None:
    store.record_message("u1", "c", T0)
    store.record_message("u1", "c", T0)
    store.offer_due("t", "c", [("u1", T0, "schedule"), ("u2", T0, "schedule")])
    got = {c.user_id: c.messages for c in store.claim_due("t", "w1", T0, LEASE, 10)}
    assert got == {"u1": 2, "u2": 0}


def test_two_stores_racing_claim_every_row_exactly_once(store_url: str, store: SqlStateStore) -> None:
    import threading

    from youlab_core.state import open_store

    store.offer_due("t", "c", [(f"u{i:03}", T0, "schedule") for i in range(300)])
    others = [open_store(url=store_url) for _ in range(3)]
    won: list[list[str]] = [[] for _ in others]

    def claim(i: int) -> None:
        while True:
            got = others[i].claim_due("t", f"w{i}", T0, LEASE, 7)
            if not got:
                return
            won[i].extend(c.user_id for c in got)

    threads = [threading.Thread(target=claim, args=(i,)) for i in range(len(others))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for o in others:
        o.close()
    everything = [u for w in won for u in w]
    assert len(everything) == 300 and len(set(everything)) == 300


def test_concurrent_chat_path_claims_of_one_student_have_one_winner(store_url: str, store: SqlStateStore) -> None:
    import threading

    from youlab_core.state import open_store

    others = [open_store(url=store_url) for _ in range(6)]
    barrier = threading.Barrier(len(others))
    won: list[str] = []

    def claim(i: int) -> None:
        barrier.wait()
        for _ in range(20):
            row = others[i].claim_user("t", "c", "u1", "after_messages", f"w{i}", T0, LEASE, messages=5, min_new_messages=3)
            if row is not None:
                won.append(row.token)

    threads = [threading.Thread(target=claim, args=(i,)) for i in range(len(others))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for o in others:
        o.close()
    assert len(won) == 1


def test_has_due_sees_only_claimable_due_rows(store: SqlStateStore) -> None:
    assert not store.has_due("t", T0)
    store.offer_due("t", "c", [("u1", T0 + timedelta(minutes=1), "on_idle")])
    assert not store.has_due("t", T0)
    assert store.has_due("t", T0 + timedelta(minutes=1))
    store.claim_due("t", "w1", T0 + timedelta(minutes=1), LEASE, 10)
    assert not store.has_due("t", T0 + timedelta(minutes=1))
    assert store.has_due("t", T0 + timedelta(minutes=1, seconds=LEASE + 1))  # lease expired: claimable again
