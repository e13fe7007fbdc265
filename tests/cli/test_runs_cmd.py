from __future__ import annotations

import json
from pathlib import Path

import pytest

from youlab_core.cli import main
from youlab_core.state import open_store


@pytest.fixture
def url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'state.db'}"
    store = open_store(url=url)
    store.create_runs([
        {"id": "aaaaaaaa-1", "task": "grader", "course_id": "c", "user_id": "u1", "trigger": "on_idle", "claimed_at": 1.0e9,
         "status": "succeeded", "attempts": 1},
        {"id": "bbbbbbbb-2", "task": "grader", "course_id": "c", "user_id": "u2", "trigger": "schedule", "claimed_at": 1.0e9 + 60,
         "status": "failed", "attempts": 3, "error": "LLMError: upstream 503"},
        {"id": "cccccccc-3", "task": "weekly", "course_id": "c", "user_id": "u1", "trigger": "manual", "claimed_at": 1.0e9 + 120,
         "status": "running", "attempts": 1},
    ])
    store.close()
    return url


def test_lists_newest_first(url: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["runs", "--state-url", url]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[:5] == ["RUN", "TASK", "USER", "TRIGGER", "STATUS"]
    assert [line.split()[0] for line in lines[1:]] == ["cccccccc", "bbbbbbbb", "aaaaaaaa"]


def test_failures_are_visible_with_their_error(url: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["runs", "--state-url", url, "--status", "failed"]) == 0
    out = capsys.readouterr().out
    assert "bbbbbbbb" in out and "LLMError: upstream 503" in out and "aaaaaaaa" not in out


def test_filters_and_json(url: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["runs", "--state-url", url, "--task", "grader", "--user", "u1", "--json"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [(r["id"], r["status"], r["trigger"]) for r in rows] == [("aaaaaaaa-1", "succeeded", "on_idle")]
    assert main(["runs", "--state-url", url, "--limit", "1", "--json"]) == 0
    assert [json.loads(line)["id"] for line in capsys.readouterr().out.splitlines()] == ["cccccccc-3"]


def test_bad_arguments(url: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["runs", "--state-url", url, "--limit", "0"]) == 2
    with pytest.raises(SystemExit) as exc:
        main(["runs", "--state-url", url, "--status", "exploded"])
    assert exc.value.code == 2
    assert main(["runs", "--state-url", url, "--user", "nobody"]) == 0
    assert "no runs match" in capsys.readouterr().err


def test_triggers_view_shows_pending_claimed_and_skipped_fires(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from datetime import UTC, datetime, timedelta

    url = f"sqlite:///{tmp_path / 't.db'}"
    store = open_store(url=url)
    now = datetime.now(UTC)
    store.offer_due("grader", "c", [("u1", now - timedelta(minutes=1), "on_idle"), ("u2", now - timedelta(minutes=1), "on_idle"),
                                    ("u3", now + timedelta(hours=1), "on_idle")])
    store.claim_due("grader", "w1", now, 600, 1)
    store.reset_schedule("weekly", "c", "0 9 * * 1|UTC", now - timedelta(days=3))
    store.advance_schedule("weekly", "c", now - timedelta(days=3), now + timedelta(days=4), None, 3, now, None)
    store.close()
    assert main(["runs", "--state-url", url, "--triggers"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[:4] == ["TASK", "DUE", "LATER", "CLAIMED"]
    grader = lines[1].split()
    assert grader[:4] == ["grader", "1", "1", "1"]
    weekly = lines[2].split()
    assert weekly[0] == "weekly" and weekly[1:4] == ["0", "0", "0"] and "3" in weekly[6:8]
    assert main(["runs", "--state-url", url, "--triggers", "--task", "weekly"]) == 0
    assert [line.split()[0] for line in capsys.readouterr().out.splitlines()[1:]] == ["weekly"]
