from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from youlab_core.cli import main
from youlab_core.cli.runs_cmd import format_duration
from youlab_core.dashboard import run_tokens
from youlab_core.state import RunRecord, open_store
from tests.support.courses import course_toml, task, write_course

USAGE = {"prompt_tokens": 1200, "completion_tokens": 345, "total_tokens": 1545}


@pytest.fixture
def url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'state.db'}"
    store = open_store(url=url)
    store.create_runs([
        {"id": "aaaaaaaa-1", "task": "grader", "course_id": "c", "user_id": "u1", "trigger": "on_idle", "claimed_at": 1.0e9,
         "started_at": 1.0e9 + 1, "finished_at": 1.0e9 + 84, "token_usage": json.dumps(USAGE),
         "status": "succeeded", "attempts": 1},
        {"id": "bbbbbbbb-2", "task": "grader", "course_id": "c", "user_id": "u2", "trigger": "schedule", "claimed_at": 1.0e9 + 60,
         "started_at": 1.0e9 + 61, "finished_at": 1.0e9 + 63.5, "status": "failed", "attempts": 3,
         "error": "LLMError: upstream 503"},
        {"id": "cccccccc-3", "task": "weekly", "course_id": "c", "user_id": "u1", "trigger": "manual", "claimed_at": 1.0e9 + 120,
         "started_at": 1.0e9 + 121, "status": "running", "attempts": 1},
    ])
    store.close()
    return url


def test_lists_newest_first(url: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["runs", "--state-url", url]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[:5] == ["RUN", "TASK", "USER", "TRIGGER", "STATUS"]
    assert [line.split()[0] for line in lines[1:]] == ["cccccccc", "bbbbbbbb", "aaaaaaaa"]


def test_the_table_shows_duration_and_tokens(url: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["runs", "--state-url", url]) == 0
    header, running, failed, succeeded = capsys.readouterr().out.splitlines()
    assert "DURATION" in header and "TOKENS" in header
    at = header.index("DURATION"), header.index("TOKENS")
    assert [line[at[0]:].split()[:2] for line in (running, failed, succeeded)] == [["-", "-"], ["2.5s", "-"], ["1m23s", "1545"]]


def test_failures_are_visible_with_their_error(url: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["runs", "--state-url", url, "--status", "failed"]) == 0
    out = capsys.readouterr().out
    assert "bbbbbbbb" in out and "LLMError: upstream 503" in out and "aaaaaaaa" not in out


def test_filters_and_json(url: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["runs", "--state-url", url, "--task", "grader", "--user", "u1", "--json"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [(r["id"], r["status"], r["trigger"]) for r in rows] == [("aaaaaaaa-1", "succeeded", "on_idle")]
    assert (rows[0]["duration_seconds"], rows[0]["total_tokens"], rows[0]["token_usage"]) == (83.0, 1545, USAGE)
    assert main(["runs", "--state-url", url, "--limit", "1", "--json"]) == 0
    [running] = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert (running["id"], running["duration_seconds"], running["total_tokens"]) == ("cccccccc-3", None, None)


def test_bad_arguments(url: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["runs", "--state-url", url, "--limit", "0"]) == 2
    with pytest.raises(SystemExit) as exc:
        main(["runs", "--state-url", url, "--status", "exploded"])
    assert exc.value.code == 2
    assert main(["runs", "--state-url", url, "--user", "nobody"]) == 0
    assert "no runs match" in capsys.readouterr().err


def test_duration_and_token_formats() -> None:
    assert [format_duration(s) for s in (None, 0, 9.94, 59.9, 60, 3599, 3600, 7384)] == [
        "-", "0.0s", "9.9s", "59.9s", "1m00s", "59m59s", "1h00m", "2h03m"]
    t0 = datetime(2026, 6, 1, tzinfo=UTC)

    def run(usage: dict[str, int]) -> RunRecord:
        return RunRecord("r", "t", "c", "u", "manual", None, None, t0, None, None, "succeeded", 1, None, None, None, None, usage)

    assert [run_tokens(run(u)) for u in ({}, {"prompt_tokens": 10}, {"prompt_tokens": 10, "completion_tokens": 5})] == [None, 10, 15]


COURSE = course_toml("essay", tasks=[task("counter", after_messages=5, manual=False),
                                     task("weekly", schedule="0 9 * * 1", on_idle=True)])


def _config(tmp_path: Path) -> Path:
    write_course(tmp_path / "config", COURSE)
    return tmp_path / "config"


def test_triggers_view_shows_pending_claimed_and_skipped_fires(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite:///{tmp_path / 't.db'}"
    store = open_store(url=url)
    now = datetime.now(UTC)
    store.offer_due("grader", "c", [("u1", now - timedelta(minutes=1), "on_idle"), ("u2", now - timedelta(minutes=1), "on_idle"),
                                    ("u3", now + timedelta(hours=1), "on_idle")])
    store.claim_due("grader", "w1", now, 600, 1)
    store.reset_schedule("weekly", "c", "0 9 * * 1|UTC", now - timedelta(days=3))
    store.advance_schedule("weekly", "c", now - timedelta(days=3), now + timedelta(days=4), None, 3, now, None)
    store.close()
    no_config = ["--config-dir", str(tmp_path / "none")]
    assert main(["runs", "--state-url", url, "--triggers", *no_config]) == 0
    captured = capsys.readouterr()
    assert "no course files under" in captured.err
    lines = captured.out.splitlines()
    assert lines[0].split()[:6] == ["TASK", "COURSE", "TRIGGERS", "DUE", "LATER", "CLAIMED"]
    grader = lines[1].split()
    assert grader[:6] == ["grader", "-", "(not", "configured)", "1", "1"] and grader[6] == "1"
    weekly = lines[2].split()
    assert weekly[0] == "weekly" and weekly[4:7] == ["0", "0", "0"] and weekly[-4:-2] == ["0", "3"]  # FIRES, SKIPPED
    assert main(["runs", "--state-url", url, "--triggers", "--task", "weekly", *no_config]) == 0
    assert [line.split()[0] for line in capsys.readouterr().out.splitlines()[1:]] == ["weekly"]


def test_triggers_lists_every_configured_task_even_one_that_never_ran(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite:///{tmp_path / 't.db'}"
    store = open_store(url=url)
    now = datetime.now(UTC)
    store.reset_schedule("weekly", "essay", "0 9 * * 1|UTC", now + timedelta(days=2))
    store.close()
    config = ["--config-dir", str(_config(tmp_path))]
    assert main(["runs", "--state-url", url, "--triggers", *config]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[:6] for line in lines[1:]] == [
        ["counter", "essay", "after_messages=5", "0", "0", "0"],
        ["weekly", "essay", "schedule,on_idle,manual", "0", "0", "0"],
    ]
    assert main(["runs", "--state-url", url, "--triggers", "--json", *config]) == 0
    rows = {r["task"]: r for r in map(json.loads, capsys.readouterr().out.splitlines())}
    assert rows["counter"] == {"task": "counter", "course": "essay", "triggers": ["after_messages=5"], "configured": True,
                               "due": 0, "later": 0, "claimed": 0, "next_fire": None, "fires": None, "skipped": None,
                               "last_skip": None}
    assert rows["weekly"]["next_fire"] == (now + timedelta(days=2)).isoformat() and rows["weekly"]["fires"] == 0
