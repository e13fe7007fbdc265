from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pytest

from youlab_core.config import CourseRegistry
from youlab_core.scheduler import BatchFailures, DueWork, Scheduler
from youlab_core.settings import Settings
from youlab_core.state import SqlStateStore, open_store
from youlab_core.triggers import FakeClock, StaticGroupResolver
from tests.support.courses import course_toml, task, write_course

T0 = datetime(2026, 3, 28, 12, 0, tzinfo=UTC)  # a Saturday; Berlin changes to summer time the next night

COURSE = course_toml(tasks=[
    task("nightly", schedule="0 2 * * *", timezone="Europe/Berlin", manual=False, batch_size=2),
    task("idle-grader", on_idle=True, idle_threshold_minutes=5, idle_cooldown_minutes=30),
    task("counter", after_messages=3, user_filter=["u1", "group:cohort"]),
])


def write_config(root: Path, text: str = COURSE) -> Path:
    """`text` as the only course of `<root>/config`; returns that config directory."""
    write_course(root / "config", text, folder="demo")
    return root / "config"


@dataclass
class RecordingHandler:
    """Records every batch; fails the users in `fail` (per user) or raises `crash` for the whole batch."""

    calls: list[DueWork] = field(default_factory=list)
    fail: dict[str, str] = field(default_factory=dict)
    crash: Exception | None = None
    block: asyncio.Event | None = None

    async def __call__(self, work: DueWork) -> BatchFailures:
        self.calls.append(work)
        if self.block is not None:
            await self.block.wait()
        if self.crash is not None:
            raise self.crash
        return BatchFailures({u: self.fail[u] for u in work.user_ids if u in self.fail})

    def runs(self, task: str | None = None) -> list[tuple[str, str, str]]:
        return sorted((w.task, w.trigger, u) for w in self.calls if task in (None, w.task) for u in w.user_ids)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(T0)


@pytest.fixture
def registry(tmp_path: Path) -> CourseRegistry:
    reg = CourseRegistry(write_config(tmp_path))
    assert reg.reload() == []
    return reg


@pytest.fixture
def settings() -> Settings:
    return Settings(misfire_grace_minutes=10, retry_backoff_seconds=60, run_max_attempts=3, claim_lease_seconds=300,
                    scheduler_max_batches=100, poll_interval_seconds=0.05, poll_jitter_seconds=0.01)


@pytest.fixture
def store(tmp_path: Path, clock: FakeClock) -> Iterator[SqlStateStore]:
    s = open_store(url=f"sqlite:///{tmp_path / 'state.db'}", clock=clock)
    yield s
    s.close()


@pytest.fixture
def handler() -> RecordingHandler:
    return RecordingHandler()


@pytest.fixture
def scheduler(store: SqlStateStore, registry: CourseRegistry, handler: RecordingHandler, settings: Settings, clock: FakeClock) -> Scheduler:
    return Scheduler(store, registry, handler, settings, clock=clock, group_resolver=StaticGroupResolver({"cohort": {"u2"}}),
                     owner="test-owner")
