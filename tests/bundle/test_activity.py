"""The activity worker keeps messages while the state database is unreachable and counts them once it is back."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
from sqlalchemy.exc import OperationalError

from youlab_core.bundle import activity
from youlab_core.bundle.activity import ActivityWorker, Job


class FlakyStore:
    """record_messages fails `down` times as an unreachable database does, then records."""

    def __init__(self, down: int) -> None:
        self.down = down
        self.calls = 0
        self.recorded: list[tuple[str, str, datetime]] = []

    def record_messages(self, rows: list[tuple[str, str, datetime]]) -> dict[tuple[str, str], int]:
        self.calls += 1
        if self.down > 0:
            self.down -= 1
            raise OperationalError("INSERT", {}, ConnectionRefusedError("connection refused"))
        self.recorded.extend(rows)
        return {(u, c): sum(1 for r in self.recorded if r[:2] == (u, c)) for u, c, _ in rows}


def job(user: str, n: int) -> Job:
    return Job(user, ("course",), "chat", "user", f"message {n}", datetime(2026, 6, 1, 12, 0, n, tzinfo=UTC), None)


def test_messages_sent_while_the_database_is_down_are_counted_once_it_is_back(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(activity, "RETRY_FIRST_SECONDS", 0.01)
    store = FlakyStore(down=3)
    worker = ActivityWorker(store, None, None, maxsize=100)  # type: ignore[arg-type]
    try:
        for n in range(5):
            assert worker.submit(job("ada", n))
        asyncio.run(worker.drain(timeout=10))
        assert [r[0] for r in store.recorded] == ["ada"] * 5
        assert [r[2].second for r in store.recorded] == [0, 1, 2, 3, 4]  # in order, with the times they were sent
        assert store.calls >= 4 and worker.failures == 0
    finally:
        worker.stop()


def test_a_stopped_worker_stops_waiting_for_the_database(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(activity, "RETRY_FIRST_SECONDS", 0.01)
    store = FlakyStore(down=10**9)
    worker = ActivityWorker(store, None, None, maxsize=100)  # type: ignore[arg-type]
    worker.submit(job("ada", 0))
    worker.stop()
    worker._thread.join(timeout=10)
    assert not worker._thread.is_alive()
    assert store.recorded == [] and worker.failures == 1
