"""The same store tests run on SQLite and on a real PostgreSQL server."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from youlab_core.settings import Settings
from youlab_core.state import SqlStateStore, open_store
from youlab_core.triggers import FakeClock

T0 = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'state.db'}"
    return request.getfixturevalue("postgres_server").fresh_url()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(T0)


@pytest.fixture
def store(store_url: str, clock: FakeClock) -> Iterator[SqlStateStore]:
    s = open_store(Settings(outbox_max_items=5, outbox_max_attempts=2), url=store_url, clock=clock)
    yield s
    s.close()
