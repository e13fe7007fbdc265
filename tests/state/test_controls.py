"""Paused tasks (`TaskControlStore`): a pause is stored, so it survives reopening the store, and each pause and
resume is recorded with who did it; a repeated pause or resume changes nothing and records nothing."""

from __future__ import annotations

from datetime import timedelta

from youlab_core.settings import Settings
from youlab_core.state import SqlStateStore, open_store
from youlab_core.triggers import FakeClock

from .conftest import T0


def test_pause_is_stored_with_who_and_when(store: SqlStateStore) -> None:
    assert not store.is_paused("t1")
    assert store.pause_task("t1", "demo", "admin@example.org", note="provider outage")
    assert store.is_paused("t1") and not store.is_paused("t2")
    pause = store.paused_tasks()["t1"]
    assert (pause.course_id, pause.paused_by, pause.paused_at, pause.note) == ("demo", "admin@example.org", T0,
                                                                                "provider outage")


def test_pause_twice_records_once(store: SqlStateStore) -> None:
    assert store.pause_task("t1", "demo", "a")
    assert not store.pause_task("t1", "demo", "b")
    assert store.paused_tasks()["t1"].paused_by == "a"  # the first pause stands
    assert [a.actor for a in store.task_actions()] == ["a"]


def test_resume_records_who_and_clears_the_pause(store: SqlStateStore, clock: FakeClock) -> None:
    assert not store.resume_task("t1", "demo", "a")  # not paused: nothing to record
    store.pause_task("t1", "demo", "a")
    clock.advance(minutes=5)
    store.pause_task("t2", "demo", "b")
    clock.advance(minutes=5)
    assert store.resume_task("t1", "demo", "teacher@example.org", note="fixed")
    assert set(store.paused_tasks()) == {"t2"}
    actions = store.task_actions()
    assert [(a.task, a.action, a.actor) for a in actions] == [
        ("t1", "resume", "teacher@example.org"), ("t2", "pause", "b"), ("t1", "pause", "a")]
    assert actions[0].at == T0 + timedelta(minutes=10) and actions[0].note == "fixed"
    assert [a.action for a in store.task_actions("t1", limit=1)] == ["resume"]


def test_a_pause_survives_reopening_the_store(store_url: str, clock: FakeClock) -> None:
    first = open_store(Settings(), url=store_url, clock=clock)
    first.pause_task("t1", "demo", "admin")
    first.close()
    again = open_store(Settings(), url=store_url, clock=clock)
    try:
        assert again.is_paused("t1") and again.paused_tasks()["t1"].paused_by == "admin"
    finally:
        again.close()
