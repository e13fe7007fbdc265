from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from youlab_core.cli import main
from youlab_core.state import open_store
from tests.scheduler.conftest import write_config
from tests.support.courses import course_toml, task

ROOT = Path(__file__).resolve().parents[2]
COURSE = course_toml(tasks=[task("grader")])


@pytest.fixture
def setup(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, str]:
    config = write_config(tmp_path, COURSE)
    url = f"sqlite:///{tmp_path / 'state.db'}"
    store = open_store(url=url)
    store.offer_due("grader", "demo", [("u1", datetime(2026, 1, 1, tzinfo=UTC), "schedule")])
    store.close()
    monkeypatch.setenv("YOULAB_TEST_OUT", str(tmp_path / "out.txt"))
    return config, url


def test_once_hands_due_work_to_the_named_handler(setup: tuple[Path, str], tmp_path: Path) -> None:
    config, url = setup
    code = main(["scheduler", "--config-dir", str(config), "--state-url", url, "--once",
                 "--handler", "tests.cli.scheduler_handlers:recording"])
    assert code == 0
    assert (tmp_path / "out.txt").read_text() == "grader u1\n"
    store = open_store(url=url)
    assert [r.status for r in store.list_runs()] == ["succeeded"]
    store.close()


def test_refuses_to_start_without_a_handler(setup: tuple[Path, str], capsys: pytest.CaptureFixture[str]) -> None:
    config, url = setup
    assert main(["scheduler", "--config-dir", str(config), "--state-url", url, "--handler", "nope.module:make"]) == 2
    assert "cannot import nope.module" in capsys.readouterr().err
    assert main(["scheduler", "--config-dir", str(config), "--state-url", url, "--handler", "youlab_core.errors:missing"]) == 2
    assert "has no callable missing" in capsys.readouterr().err


def test_no_courses_is_an_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["scheduler", "--config-dir", str(tmp_path), "--state-url", f"sqlite:///{tmp_path / 's.db'}"]) == 2
    assert "no usable course" in capsys.readouterr().err


def test_sigterm_stops_gracefully_and_releases_claims(setup: tuple[Path, str], tmp_path: Path) -> None:
    config, url = setup
    env = {**os.environ, "YOULAB_SCHEDULER_SHUTDOWN_GRACE_SECONDS": "0.2", "YOULAB_POLL_INTERVAL_SECONDS": "0.05"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "youlab_core", "scheduler", "--config-dir", str(config), "--state-url", url,
         "--handler", "tests.cli.scheduler_handlers:hanging"],
        cwd=ROOT, env=env, stderr=subprocess.PIPE, text=True,
    )
    out = tmp_path / "out.txt"
    deadline = time.monotonic() + 20
    while not (out.exists() and out.read_text()) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert out.read_text() == "started grader u1\n"
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=20)
    assert proc.returncode == 0, err
    assert "unfinished claims released" in err
    store = open_store(url=url)
    try:
        [run] = store.list_runs()
        assert run.status == "released"
        state = store.trigger_state("grader", "u1")
        assert state is not None and state.claim_owner is None and state.next_due_at is not None  # still due
    finally:
        store.close()
    # A restarted scheduler picks the released work up, and its run record goes on (second attempt).
    out.write_text("")
    restarted = subprocess.run(
        [sys.executable, "-m", "youlab_core", "scheduler", "--config-dir", str(config), "--state-url", url, "--once",
         "--handler", "tests.cli.scheduler_handlers:recording"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60,
    )
    assert restarted.returncode == 0, restarted.stderr
    assert out.read_text() == "grader u1\n"
    store = open_store(url=url)
    try:
        [again] = store.list_runs()
        assert (again.id, again.status, again.attempts) == (run.id, "succeeded", 1)
    finally:
        store.close()


def test_the_default_handler_refuses_without_open_webuis_database(
    setup: tuple[Path, str], tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    config, url = setup
    for name in ("DATA_DIR", "DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)
    assert main(["scheduler", "--config-dir", str(config), "--state-url", url, "--once"]) == 2
    err = capsys.readouterr().err
    assert "no student could review" in err and "creates chats only for the caller" in err
    assert "scheduler loop in every one of its processes" in err and "DATA_DIR" in err
    monkeypatch.setenv("DATA_DIR", str(tmp_path / "empty"))
    assert main(["scheduler", "--config-dir", str(config), "--state-url", url, "--once"]) == 2
    assert "holds no webui.db" in capsys.readouterr().err
    store = open_store(url=url)
    try:
        assert store.list_runs() == []  # refused before claiming anything: the work is still due
    finally:
        store.close()
