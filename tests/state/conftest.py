"""The same store tests run on SQLite and on a real PostgreSQL server, and helpers for what the store's
interface leaves out (settling one claim, reading one run record)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from youlab_core.settings import Settings
from youlab_core.state import Retry, RunRecord, Settlement, SqlStateStore, StateStore, open_store
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


def complete(
    store: StateStore, task: str, user_id: str, token: str, *, started_at: datetime = T0, fire_at: datetime = T0,
    messages: int = 0, failed: bool = False, next_due_at: datetime | None = None, next_kind: str | None = None,
) -> bool:
    """Settle one claim as finished; whether the token still held it."""
    done = Settlement(user_id, token, started_at, fire_at, messages, failed, next_due_at, next_kind)
    return user_id in store.settle_claims(task, [done], [])


def retry(store: StateStore, task: str, user_id: str, token: str, retry_at: datetime) -> bool:
    """Settle one claim as "try again at `retry_at`"; whether the token still held it."""
    return user_id in store.settle_claims(task, [], [Retry(user_id, token, retry_at)])


def find_run(store: StateStore, run_id: str) -> RunRecord | None:
    return next((r for r in store.list_runs(limit=10_000) if r.id == run_id), None)
