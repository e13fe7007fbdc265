from datetime import UTC, datetime

import pytest
from sqlalchemy import inspect, insert, select

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
            assert current_version(conn) == SCHEMA_VERSION == 2
            assert conn.execute(select(tables.schema_version.c.version).order_by("version")).scalars().all() == [1, 2]
        act = store.activity("u1", "c")
        assert act is not None and act.message_count == 7
        state = store.trigger_state("t", "u1")
        assert state is not None and (state.runs, state.messages_at_last_run) == (2, 3)
        store.register_thread("chat", "u1", "t", "c", None, created_at=T0)  # version 2's table works
        assert store.thread("chat") is not None
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
