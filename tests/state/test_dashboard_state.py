"""What the dashboard needs from the state store (schema version 6), on SQLite and PostgreSQL: each scheduler's
last tick per process, runs by hand and retries recorded with who did them next to pauses, the per-course runs
index, and a pause that survives reopening the store (a restart)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from sqlalchemy import inspect

from youlab_core.settings import Settings
from youlab_core.state import SCHEMA_VERSION, SqlStateStore, make_engines, migrate, open_store
from youlab_core.state.sql_controls import HEARTBEATS_KEPT_SECONDS
from youlab_core.triggers import FakeClock

from .conftest import T0


def test_heartbeats_keep_each_process_last_tick(store: SqlStateStore, clock: FakeClock) -> None:
    assert store.heartbeats() == []
    store.record_heartbeat("host:1:a")
    clock.advance(seconds=30)
    store.record_heartbeat("host:2:b")
    clock.advance(seconds=30)
    store.record_heartbeat("host:1:a")
    beats = store.heartbeats()
    assert [(b.owner, b.at) for b in beats] == [("host:1:a", T0.replace(minute=1)), ("host:2:b", T0.replace(second=30))]
    assert beats[0].started_at == T0 and beats[0].kind == "scheduler"


def test_a_long_silent_process_is_forgotten(store: SqlStateStore, clock: FakeClock) -> None:
    store.record_heartbeat("gone")
    clock.advance(seconds=HEARTBEATS_KEPT_SECONDS + 1)
    store.record_heartbeat("alive")
    assert [b.owner for b in store.heartbeats()] == ["alive"]


def test_runs_and_retries_are_recorded_with_pauses(store: SqlStateStore, clock: FakeClock) -> None:
    store.pause_task("t1", "demo", "Ada (admin)")
    clock.advance(minutes=1)
    store.record_task_action("t1", "demo", "retry", "Ada (admin)", note="for Sam")
    clock.advance(minutes=1)
    store.record_task_action("t2", "demo", "run", "Tom (teacher)", note="for 2 students")
    assert [(a.task, a.action, a.actor, a.note) for a in store.task_actions()] == [
        ("t2", "run", "Tom (teacher)", "for 2 students"), ("t1", "retry", "Ada (admin)", "for Sam"),
        ("t1", "pause", "Ada (admin)", "")]
    assert [a.action for a in store.task_actions("t1")] == ["retry", "pause"]


def test_a_pause_survives_a_restart(store_url: str) -> None:
    first = open_store(Settings(), url=store_url, clock=FakeClock(T0))
    first.pause_task("t1", "demo", "Ada (admin)", note="provider outage")
    first.close()
    again = open_store(Settings(), url=store_url)
    try:
        assert again.is_paused("t1") and again.paused_tasks()["t1"].paused_by == "Ada (admin)"
        assert again.resume_task("t1", "demo", "Tom (teacher)")
    finally:
        again.close()
    last = open_store(Settings(), url=store_url)
    try:
        assert not last.is_paused("t1")
        assert [a.action for a in last.task_actions()] == ["resume", "pause"]
    finally:
        last.close()


def test_upgrade_from_version_5_adds_heartbeats_and_the_course_index(store_url: str, tmp_path: Path) -> None:
    engines = make_engines(store_url)
    assert migrate(engines, target=5) == 5
    assert "youlab_heartbeats" not in inspect(engines.read).get_table_names()
    assert migrate(engines) == SCHEMA_VERSION == 8
    assert "youlab_heartbeats" in inspect(engines.read).get_table_names()
    assert "ix_youlab_runs_course_user" in {i["name"] for i in inspect(engines.read).get_indexes("youlab_runs")}
    engines.dispose()


def test_a_page_of_students_by_last_activity_with_their_runs(store: SqlStateStore, clock: FakeClock) -> None:
    for i, user in enumerate(("u1", "u2", "u3")):
        store.record_message(user, "demo", T0 + timedelta(minutes=i))
    store.record_message("u9", "other", T0)
    store.create_runs([{"id": f"r{i}", "task": "t", "course_id": "demo", "user_id": user, "trigger": "manual",
                        "claimed_at": 1.0, "status": status, "attempts": 1}
                       for i, (user, status) in enumerate((("u1", "failed"), ("u1", "succeeded"), ("u3", "failed")))])
    total, page = store.course_students("demo", limit=2)
    assert total == 3
    assert [(a.user_id, runs, failed) for a, runs, failed in page] == [("u3", 1, 1), ("u2", 0, 0)]
    total, page = store.course_students("demo", limit=2, offset=2)
    assert [(a.user_id, runs, failed, a.message_count) for a, runs, failed in page] == [("u1", 2, 1, 1)]
    total, page = store.course_students("demo", limit=10, user_ids=["u1", "u9"])
    assert total == 1 and [a.user_id for a, _, _ in page] == ["u1"]  # u9 is another course's
