"""`youlab run`: Honcho test server (seeded through the mirror), the demo model as LLM, real stores, and a real Open
WebUI 0.12.4 database the run threads go into.

The runs are child processes with only the environment docs/operate.md documents (DATA_DIR and WEBUI_SECRET_KEY):
Open WebUI's import configures the whole process, and this is how an operator runs the command. The database is
made once per module the way the server's first start makes it (migrations), with the students as Open WebUI users.
"""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import pytest

from tests.dialectic.fakes import essay_registry
from youlab_core.cli import main
from youlab_core.cli.openwebui_db import openwebui_package_dir
from youlab_core.dialectic.mirror import HonchoMirror
from youlab_core.memory import MemoryStore
from youlab_core.settings import Settings
from youlab_core.state import open_store

ROOT = Path(__file__).resolve().parents[2]
CHATS = {"u1": "I love writing about my grandmother's garden. I want blunt feedback.",
         "u2": "I love writing about robots and my rover. Gentle feedback helps me."}
STUDENTS = tuple(CHATS)
# What the server's first start does to a data directory (create webui.db and its tables); then the students sign up
# and chat with the course tutor (chat "<user>-chat", the Honcho session the `env` fixture mirrors).
MAKE_DATABASE = """
import asyncio, json, sys, time
import open_webui.config  # noqa: F401  (runs Open WebUI's migrations)
from open_webui.models.chats import ChatForm, Chats
from open_webui.models.users import Users

async def add(chats):
    for uid, text in chats.items():
        await Users.insert_new_user(uid, uid, uid + "@example.org", role="user")
        message = {"id": "m1", "parentId": None, "childrenIds": [], "role": "user", "content": text,
                   "timestamp": int(time.time())}
        chat = {"id": uid + "-chat", "title": "Essay", "models": ["essay-tutor"], "messages": [message],
                "history": {"currentId": "m1", "messages": {"m1": message}}}
        await Chats.insert_new_chat(uid + "-chat", uid, ChatForm(chat=chat))

asyncio.run(add(json.loads(sys.argv[1])))
"""
# Set by the test process or the harness, not by an operator following the docs.
NOT_DOCUMENTED = ("STATIC_DIR", "FRONTEND_BUILD_DIR", "ENABLE_DB_MIGRATIONS", "DATABASE_URL", "FROM_INIT_PY")


@pytest.fixture(scope="module")
def webui_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("owui")
    package = openwebui_package_dir()
    assert package is not None, "Open WebUI is not installed in this environment (scripts/test installs it)"
    env = {**os.environ, "DATA_DIR": str(root / "data"), "STATIC_DIR": str(root / "static"),
           "FRONTEND_BUILD_DIR": str(package / "frontend"), "WEBUI_SECRET_KEY": "test-secret", "OFFLINE_MODE": "true"}
    (root / "data").mkdir()
    done = subprocess.run([sys.executable, "-c", MAKE_DATABASE, json.dumps(CHATS)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return root / "data"


@pytest.fixture
def env(tmp_path, honcho_server, demo_model, monkeypatch):
    for name in list(os.environ):
        if name.startswith("YOULAB_"):
            monkeypatch.delenv(name)
    registry = essay_registry(tmp_path / "config")
    settings = Settings(storage_root=tmp_path / "root", config_dir=tmp_path / "config", honcho_url=honcho_server.url,
                        mirror_backoff_seconds=0.01)
    settings.root.mkdir(parents=True)
    state = open_store(settings)
    mirror = HonchoMirror(state, settings)
    for user, text in CHATS.items():
        mirror.enqueue(user, f"{user}-chat", "user", text)
        state.record_message(user, "essay", datetime.now(timezone.utc))
    assert asyncio.run(mirror.flush()) == 2
    state.close()
    args = ["--config-dir", str(tmp_path / "config"), "--storage-root", str(tmp_path / "root"),
            "--honcho-url", honcho_server.url, "--llm-base-url", demo_model.base_url, "--llm-model", "youlab-demo"]
    return args, settings, registry


def run_on_the_host(args: list[str], data_dir: Path) -> subprocess.CompletedProcess[str]:
    """`youlab run ... --openwebui-db` as docs/operate.md says to run it on the Open WebUI host."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("YOULAB_") and k not in NOT_DOCUMENTED}
    env.update(DATA_DIR=str(data_dir), WEBUI_SECRET_KEY="test-secret")
    return subprocess.run([sys.executable, "-m", "youlab_core", "run", *args, "--openwebui-db"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)


def threads(data_dir: Path, user_id: str) -> list[dict]:
    """The YouLab run threads in this student's Open WebUI chat list (meta.youlab of each)."""
    with sqlite3.connect(data_dir / "webui.db") as db:
        rows = db.execute("select meta from chat where user_id = ?", (user_id,)).fetchall()
    return [json.loads(meta)["youlab"] for (meta,) in rows if meta and "youlab" in json.loads(meta)]


def static_files() -> dict[str, int]:
    """Open WebUI's default STATIC_DIR (inside the package), which a running server may serve from."""
    package = openwebui_package_dir()
    assert package is not None
    return {str(p): p.stat().st_mtime_ns for p in (package / "static").rglob("*") if p.is_file()}


def test_a_run_on_the_open_webui_host_writes_every_students_thread(env, webui_data):
    args, settings, registry = env
    before = {u: len(threads(webui_data, u)) for u in STUDENTS}
    static = static_files()
    done = run_on_the_host(["grader", "--all", "--details", *args], webui_data)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "[1/2]" in done.stderr and "[2/2]" in done.stderr
    assert "== u1: succeeded" in done.stdout and "== u2: succeeded" in done.stdout
    assert "diffs proposed" in done.stdout
    for user in STUDENTS:
        made = threads(webui_data, user)
        assert len(made) == before[user] + 1 and made[-1]["task"] == "grader", made
        pending = MemoryStore.from_settings(settings, courses=registry).student(user).list_diffs(status="pending")
        assert len(pending) >= 2
    assert static_files() == static  # the server's static folder was neither emptied nor rewritten


def test_a_failing_llm_gives_exit_status_1(env, webui_data, demo_model):
    args, _, _ = env
    demo_model.fail_next(100, status=400)
    done = run_on_the_host(["grader", "--user", "u1", *args], webui_data)
    assert done.returncode == 1, done.stderr[-3000:]
    assert "[1/1] u1: failed" in done.stderr and "failures:" in done.stdout


@pytest.mark.parametrize("mode", [["--openwebui-url", "http://127.0.0.1:9", "--openwebui-api-key", "admin-key"], []])
def test_without_openwebui_db_it_refuses_and_says_what_to_do_instead(env, capsys, honcho_server, mode):
    args, settings, registry = env
    assert main(["run", "grader", "--user", "u1", *args, *mode]) == 2
    err = capsys.readouterr().err
    assert "no student could review" in err and "creates chats only for the caller" in err
    assert "youlab_agents.<task>" in err and "--openwebui-db" in err and "DATA_DIR" in err
    assert not honcho_server.calls("chat")  # refused before anything ran
    assert not MemoryStore.from_settings(settings, courses=registry).student("u1").list_diffs(status="pending")


def test_openwebui_db_without_the_database_named_is_refused(env, capsys, monkeypatch, tmp_path):
    args, _, _ = env
    for name in ("DATA_DIR", "DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)
    assert main(["run", "grader", "--user", "u1", *args, "--openwebui-db"]) == 2
    assert "DATA_DIR (the folder holding webui.db) or its DATABASE_URL" in capsys.readouterr().err
    monkeypatch.setenv("DATA_DIR", str(tmp_path))
    assert main(["run", "grader", "--user", "u1", *args, "--openwebui-db"]) == 2
    assert f"DATA_DIR={tmp_path} holds no webui.db" in capsys.readouterr().err


def test_unknown_task_and_manual_false_are_refused(env, capsys):
    args, _, _ = env
    assert main(["run", "nope", "--user", "u1", *args, "--openwebui-db"]) == 2
    assert "no task 'nope'" in capsys.readouterr().err
    assert main(["run", "no-manual", "--user", "u1", *args, "--openwebui-db"]) == 2
    assert "manual = false" in capsys.readouterr().err
