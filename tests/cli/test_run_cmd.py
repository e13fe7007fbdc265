"""`youlab run` end to end: Honcho test server (seeded through the mirror), the demo model as LLM, real stores."""

from __future__ import annotations

import asyncio
from datetime import datetime, timezone

import pytest

from youlab_core.cli import main
from youlab_core.dialectic.mirror import HonchoMirror
from youlab_core.memory import MemoryStore
from youlab_core.settings import Settings
from youlab_core.state import open_store
from tests.dialectic.fakes import write_course


@pytest.fixture
def env(tmp_path, honcho_server, demo_model, monkeypatch):
    for name in list(__import__("os").environ):
        if name.startswith("YOULAB_"):
            monkeypatch.delenv(name)
    registry = write_course(tmp_path / "config")
    settings = Settings(storage_root=tmp_path / "root", config_dir=tmp_path / "config", honcho_url=honcho_server.url,
                        mirror_backoff_seconds=0.01)
    settings.root.mkdir(parents=True)
    state = open_store(settings)
    mirror = HonchoMirror(state, settings)
    chats = {"u1": "I love writing about my grandmother's garden. I want blunt feedback.",
             "u2": "I love writing about robots and my rover. Gentle feedback helps me."}
    for user, text in chats.items():
        mirror.enqueue(user, f"{user}-chat", "user", text)
        state.record_message(user, "essay", datetime.now(timezone.utc))
    assert asyncio.run(mirror.flush()) == 2
    state.close()
    args = ["--config-dir", str(tmp_path / "config"), "--storage-root", str(tmp_path / "root"),
            "--honcho-url", honcho_server.url, "--llm-base-url", demo_model.base_url, "--llm-model", "youlab-demo"]
    return args, settings, registry


def test_run_for_named_users_prints_progress_and_a_summary(env, capsys):
    args, settings, registry = env
    assert main(["run", "grader", "--user", "u1", *args]) == 0
    out, err = capsys.readouterr()
    assert "[1/1] u1: succeeded" in err
    assert "diffs proposed" in out and "failed" in out
    pending = MemoryStore.from_settings(settings, courses=registry).student("u1").list_diffs(status="pending")
    assert len(pending) >= 2


def test_run_all_covers_every_active_student(env, capsys):
    args, _, _ = env
    assert main(["run", "youlab_agents.grader", "--all", "--details", *args]) == 0
    out, err = capsys.readouterr()
    assert "== u1: succeeded" in out and "== u2: succeeded" in out
    assert "students                   2" in out.replace("  ", "  ")


def test_unknown_task_and_manual_false_are_refused(env, capsys):
    args, _, _ = env
    assert main(["run", "nope", "--user", "u1", *args]) == 2
    assert "no task 'nope'" in capsys.readouterr().err
    assert main(["run", "no-manual", "--user", "u1", *args]) == 2


def test_a_failing_llm_gives_exit_status_1(env, capsys, demo_model):
    args, _, _ = env
    demo_model.fail_next(100, status=400)
    assert main(["run", "grader", "--user", "u1", *args]) == 1
    assert "failures:" in capsys.readouterr().out
