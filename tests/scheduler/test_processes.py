"""Several scheduler PROCESSES against one SQLite file and against a real PostgreSQL server."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from youlab_core.state import open_store
from tests.support.courses import course_toml, task

from .conftest import write_config

ROOT = Path(__file__).resolve().parents[2]
PAST = datetime(2026, 1, 1, tzinfo=UTC)

RACE_COURSE = course_toml(tasks=[task("race", batch_size=50)])


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'state.db'}"
    return request.getfixturevalue("postgres_server").fresh_url()


def seed(url: str, count: int) -> list[str]:
    users = [f"s{i:04}" for i in range(count)]
    store = open_store(url=url)
    store.offer_due("race", "demo", [(u, PAST, "schedule") for u in users])
    store.close()
    return users


def spawn(tmp_path: Path, url: str, owner: str, *extra: str) -> subprocess.Popen[bytes]:
    cmd = [sys.executable, "-m", "tests.scheduler.worker", "--url", url, "--config", str(tmp_path / "config"),
           "--owner", owner, "--out", str(tmp_path / f"{owner}.out"), "--go", str(tmp_path / "go"), *extra]
    return subprocess.Popen(cmd, cwd=ROOT, stderr=open(tmp_path / f"{owner}.err", "wb"))


def lines(tmp_path: Path, prefix: str) -> list[list[str]]:
    out = []
    for file in tmp_path.glob("*.out"):
        out += [line.split() for line in file.read_text().splitlines() if line.startswith(prefix + " ")]
    return out


def wait(procs: list[subprocess.Popen[bytes]], tmp_path: Path, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    for proc in procs:
        try:
            proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            proc.kill()
            raise AssertionError("worker did not finish in time") from None
    for proc in procs:
        err = b"".join(p.read_bytes() for p in tmp_path.glob("*.err")).decode(errors="replace")
        assert proc.returncode == 0, err[-3000:]


def assert_each_ran_once(url: str, users: list[str], ran: list[list[str]]) -> None:
    counts = Counter(line[2] for line in ran)
    assert sorted(counts) == users, f"{len(users) - len(counts)} never ran"
    assert max(counts.values()) == 1, f"ran twice: {[u for u, n in counts.items() if n > 1][:10]}"
    store = open_store(url=url)
    try:
        runs = store.list_runs(task="race", limit=len(users) + 10)
        assert len(runs) == len(users) and {r.status for r in runs} == {"succeeded"}
        for user in users[:: max(1, len(users) // 50)]:
            state = store.trigger_state("race", user)
            assert state is not None and (state.runs, state.next_due_at, state.claim_owner) == (1, None, None)
    finally:
        store.close()


@pytest.mark.parametrize("workers", [2, 4])
def test_workers_race_over_1000_due_triggers_and_each_runs_once(url: str, workers: int, tmp_path: Path) -> None:
    write_config(tmp_path, RACE_COURSE)
    users = seed(url, 1000)
    procs = [spawn(tmp_path, url, f"w{i}", "--work-seconds", "0.01", "--until-done") for i in range(workers)]
    (tmp_path / "go").touch()
    wait(procs, tmp_path)
    ran = lines(tmp_path, "ran")
    assert_each_ran_once(url, users, ran)
    owners = Counter(line[4] for line in ran)
    assert len(owners) >= 2, f"one worker did everything: {owners}"  # it really was a race


def test_work_of_a_killed_worker_runs_once_after_its_lease_expires(url: str, tmp_path: Path) -> None:
    write_config(tmp_path, RACE_COURSE)
    users = seed(url, 100)
    lease = 2.0
    doomed = spawn(tmp_path, url, "doomed", "--hang", "--lease", str(lease), "--max-seconds", "60")
    (tmp_path / "go").touch()
    deadline = time.monotonic() + 30
    while len(lines(tmp_path, "claimed")) < 100 and time.monotonic() < deadline:
        time.sleep(0.05)
    claimed = lines(tmp_path, "claimed")
    assert len(claimed) == 100, "the doomed worker did not claim everything"
    os.kill(doomed.pid, signal.SIGKILL)
    doomed.wait()
    claimed_at = max(float(line[5]) for line in claimed)
    survivor = spawn(tmp_path, url, "survivor", "--idle-exit", str(lease + 5), "--until-done")
    wait([survivor], tmp_path)
    ran = lines(tmp_path, "ran")
    assert_each_ran_once(url, users, ran)
    assert {line[4] for line in ran} == {"survivor"}
    # Not before the lease ran out (the lease is whole seconds, counted from the claim).
    assert min(float(line[5]) for line in ran) >= claimed_at + lease - 0.5
    store = open_store(url=url)
    try:
        assert {r.attempts for r in store.list_runs(task="race", limit=200)} == {2}
    finally:
        store.close()


# the race task also on an hourly schedule, and an idle task planned by every process at once
PLANNED_COURSE = course_toml(tasks=[task("race", schedule="0 * * * *", batch_size=50),
                                    task("idle-race", on_idle=True, idle_threshold_minutes=1, batch_size=25)])


def test_workers_planning_the_same_schedule_fire_and_idle_sweep_run_each_once(url: str, tmp_path: Path) -> None:
    """Three processes plan at once: one wins the schedule fire, the idle sweep is idempotent."""
    write_config(tmp_path, PLANNED_COURSE)
    now = datetime.now(UTC)
    users = [f"s{i:04}" for i in range(300)]
    store = open_store(url=url)
    for user in users:
        store.record_message(user, "demo", now - timedelta(minutes=5))
    store.reset_schedule("race", "demo", "0 * * * *|UTC", now - timedelta(seconds=30))  # a fire 30 s ago: in grace
    store.close()
    procs = [spawn(tmp_path, url, f"p{i}", "--idle-exit", "3", "--until-done") for i in range(3)]
    (tmp_path / "go").touch()
    wait(procs, tmp_path)
    ran = lines(tmp_path, "ran")
    for task in ("race", "idle-race"):
        counts = Counter(line[2] for line in ran if line[1] == task)
        assert sorted(counts) == users and set(counts.values()) == {1}, task
    store = open_store(url=url)
    try:
        cursor = store.task_cursor("race")
        assert cursor is not None and cursor.fires == 1
    finally:
        store.close()
