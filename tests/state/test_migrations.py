import json
from datetime import UTC, datetime

import pytest
from sqlalchemy import inspect, insert, select, text

from youlab_core.errors import YoulabError
from youlab_core.state import SCHEMA_VERSION, make_engines, migrate, open_store
from youlab_core.state import tables
from youlab_core.state.migrations import current_version

T0 = datetime(2026, 6, 1, tzinfo=UTC)


def test_upgrade_from_version_1_keeps_the_data(store_url: str) -> None:
    engines = make_engines(store_url)
    assert migrate(engines, target=1) == 1
    assert "youlab_threads" not in inspect(engines.read).get_table_names()
    with engines.write.begin() as conn:
        conn.execute(insert(tables.activity).values(user_id="u1", course_id="c", first_message_at=1.0, last_message_at=2.0, message_count=7))
        conn.execute(insert(tables.trigger_state).values(task="t", user_id="u1", course_id="c", next_due_at=5.0, due_kind="schedule",
                                                         messages_at_last_run=3, runs=2, failures=0, attempts=0))
    engines.dispose()

    store = open_store(url=store_url)  # upgrades to the latest version
    try:
        with store.engines.read.connect() as conn:
            assert current_version(conn) == SCHEMA_VERSION == 8
            assert conn.execute(select(tables.schema_version.c.version).order_by("version")).scalars().all() == [1, 2, 3, 4, 5, 6, 7, 8]
        act = store.activity("u1", "c")
        assert act is not None and act.message_count == 7
        state = store.trigger_state("t", "u1")
        assert state is not None and (state.runs, state.messages_at_last_run) == (2, 3)
        store.register_thread("chat", "u1", "t", "c", None, created_at=T0)  # version 2's table works
        assert store.thread("chat") is not None
    finally:
        store.close()


def test_upgrade_from_version_2_keeps_the_outbox(store_url: str) -> None:
    engines = make_engines(store_url)
    assert migrate(engines, target=2) == 2
    assert "queue" not in {c["name"] for c in inspect(engines.read).get_columns("youlab_outbox")}
    with engines.write.begin() as conn:  # version 2's outbox: no queue column
        for n, status, attempts in ((1, "queued", 3), (2, "dead", 8)):
            conn.execute(text("INSERT INTO youlab_outbox (payload, enqueued_at, available_at, status, attempts) "
                              "VALUES (:p, 1.0, 1.0, :s, :a)"), {"p": json.dumps({"n": n}), "s": status, "a": attempts})
        conn.execute(insert(tables.counters).values(name="outbox_overflowed", value=4))
        conn.execute(insert(tables.threads).values(chat_id="chat", user_id="u1", task="t", course_id="c", created_at=1.0))
    engines.dispose()

    store = open_store(url=store_url)  # upgrades to version 3 and on
    try:
        with store.engines.read.connect() as conn:
            assert current_version(conn) == SCHEMA_VERSION
        indexes = {i["name"] for i in inspect(store.engines.read).get_indexes("youlab_outbox")}
        assert "ix_youlab_outbox_queue_ready" in indexes and "ix_youlab_outbox_ready" not in indexes
        stats = store.outbox_stats()  # the old rows and the overflow count are the Honcho queue's
        assert (stats.queued, stats.dead, stats.overflowed) == (1, 1, 4)
        assert store.outbox_stats(queue="letta") == type(stats)(0, 0, 0)
        [item] = store.outbox_claim("w", 10, 30)
        assert (item.payload, item.attempts) == ({"n": 1}, 3)
        assert store.outbox_claim("w", 10, 30, queue="letta") == []
        assert store.outbox_enqueue({"n": 3}, queue="letta") is not None
        assert store.thread("chat") is not None
    finally:
        store.close()


def test_upgrade_from_version_3_adds_the_agent_folders(store_url: str) -> None:
    engines = make_engines(store_url)
    assert migrate(engines, target=3) == 3
    assert "youlab_agent_folders" not in inspect(engines.read).get_table_names()
    with engines.write.begin() as conn:
        conn.execute(insert(tables.threads).values(chat_id="chat", user_id="u1", task="t", course_id="c", run_id="r",
                                                   created_at=1.0))
    engines.dispose()

    store = open_store(url=store_url)  # upgrades to version 4 and on
    try:
        with store.engines.read.connect() as conn:
            assert current_version(conn) == SCHEMA_VERSION
        indexes = {i["name"] for i in inspect(store.engines.read).get_indexes("youlab_agent_folders")}
        assert "ix_youlab_agent_folders_user_task" in indexes
        thread = store.thread("chat")
        assert thread is not None and thread.run_id == "r"  # version 2's rows are kept
        assert store.agent_folders("u1", "t") == []  # folders made before version 4 were never recorded
        store.record_folder("f1", "u1", "t", "c", created_at=T0)
        [folder] = store.agent_folders("u1", "t")
        assert (folder.folder_id, folder.course_id, folder.created_at) == ("f1", "c", T0)
    finally:
        store.close()


def test_upgrade_from_version_4_adds_task_pauses(store_url: str) -> None:
    engines = make_engines(store_url)
    assert migrate(engines, target=4) == 4
    assert "youlab_task_pauses" not in inspect(engines.read).get_table_names()
    with engines.write.begin() as conn:
        conn.execute(insert(tables.runs).values(id="r1", task="t", course_id="c", user_id="u1", trigger="manual",
                                                claimed_at=1.0, status="failed", attempts=3, error="boom"))
    engines.dispose()

    store = open_store(url=store_url)  # upgrades to the latest version
    try:
        with store.engines.read.connect() as conn:
            assert current_version(conn) == SCHEMA_VERSION
        assert "ix_youlab_task_actions_task" in {i["name"] for i in inspect(store.engines.read).get_indexes("youlab_task_actions")}
        [run] = store.list_runs()
        assert (run.id, run.error) == ("r1", "boom")  # version 4's rows are kept
        assert store.paused_tasks() == {}  # nothing was paused before version 5
        assert store.pause_task("t", "c", "admin@example.org")
        assert store.is_paused("t")
    finally:
        store.close()


def test_reopening_is_a_no_op(store_url: str) -> None:
    open_store(url=store_url).close()
    engines = make_engines(store_url)
    assert migrate(engines) == SCHEMA_VERSION
    engines.dispose()


def test_a_newer_database_is_refused(store_url: str) -> None:
    engines = make_engines(store_url)
    migrate(engines)
    with engines.write.begin() as conn:
        conn.execute(insert(tables.schema_version).values(version=SCHEMA_VERSION + 1, applied_at=0.0))
    with pytest.raises(YoulabError, match="newer than this youlab-core"):
        migrate(engines)
    engines.dispose()


def test_upgrade_from_version_6_keeps_threads_and_adds_their_narrative(store_url: str) -> None:
    engines = make_engines(store_url)
    assert migrate(engines, target=6) == 6
    with engines.write.begin() as conn:  # version 6's threads table: no narrative column
        conn.execute(text("ALTER TABLE youlab_threads DROP COLUMN narrative"))  # as version 2 made it
        conn.execute(text("INSERT INTO youlab_threads (chat_id, user_id, task, course_id, run_id, created_at) "
                          "VALUES ('old', 'u1', 't', 'c', 'r1', 1.0)"))
    engines.dispose()
    store = open_store(url=store_url)
    try:
        old = store.thread("old")
        assert old is not None and old.run_id == "r1" and old.narrative is None
        store.register_thread("new", "u1", "t", "c", "r2", created_at=T0, narrative={"held_back": ["x"]})
        new = store.thread("new")
        assert new is not None and new.narrative == {"held_back": ["x"]}
    finally:
        store.close()


def test_upgrade_from_version_7_keeps_threads_open(store_url: str) -> None:
    engines = make_engines(store_url)
    assert migrate(engines, target=7) == 7
    with engines.write.begin() as conn:  # version 7's threads table: no closed_at column
        conn.execute(text("ALTER TABLE youlab_threads DROP COLUMN closed_at"))
        conn.execute(text("INSERT INTO youlab_threads (chat_id, user_id, task, course_id, run_id, created_at) "
                          "VALUES ('old', 'u1', 't', 'c', 'r1', 1.0)"))
    engines.dispose()
    store = open_store(url=store_url)
    try:
        assert [t.chat_id for t in store.threads_for("u1", "t", open_only=True)] == ["old"]  # read until archived
        store.close_threads(["old"], at=T0)
        assert store.threads_for("u1", "t", open_only=True) == []
        closed = store.thread("old")
        assert closed is not None and closed.closed_at == T0
    finally:
        store.close()
