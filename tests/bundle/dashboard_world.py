"""A world for the course dashboard's tests: the shipped course with the teacher group "Essay teachers" (and
`teachers_read_memory` as the test asks), a started bundle on a real state store and real memory, chats in memory,
and Open WebUI's users and groups as plain lists (patched into youlab_core.openwebui.internals, where every part
reads them)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from youlab_core.bundle import Given, bundle_for, process, settings_from_values
from youlab_core.bundle.context import Bundle
from youlab_core.bundle.dashboard_view import DashboardSources
from youlab_core.openwebui import internals as owui
from youlab_core.threads import MemoryChats
from youlab_core.threads.dashboard_view import dashboard_chat_id
from youlab_core.threads.model import ChatRecord

from .conftest import RecordingRunner, load_plugin

COURSE = "college-essay"
USERS = [SimpleNamespace(id="adm", role="admin", name="Ada Admin", email="ada@example.org"),
         SimpleNamespace(id="tea", role="user", name="Tom Teacher", email="tom@example.org"),
         SimpleNamespace(id="oth", role="user", name="Olga Other", email="olga@example.org"),
         SimpleNamespace(id="stu-1", role="user", name="Sam Student", email="sam@example.org"),
         SimpleNamespace(id="stu-2", role="user", name="Sue Student", email="sue@example.org")]
ADMIN = {"id": "adm", "role": "admin", "name": "Ada Admin", "email": "ada@example.org"}
TEACHER = {"id": "tea", "role": "user", "name": "Tom Teacher", "email": "tom@example.org"}
OTHER_TEACHER = {"id": "oth", "role": "user", "name": "Olga Other", "email": "olga@example.org"}
STUDENT = {"id": "stu-1", "role": "user", "name": "Sam Student", "email": "sam@example.org"}


@dataclass
class Env:
    bundle: Bundle
    runner: RecordingRunner
    state: Any  # the bundle's state store (kept when a test stops the bundle's background parts)
    groups: dict[str, set[str]] = field(default_factory=lambda: {"Essay teachers": {"tea"}, "Math teachers": {"oth"}})

    def sources(self) -> DashboardSources:
        b = self.bundle

        async def users() -> list[Any]:
            return list(USERS)

        async def groups() -> dict[str, set[str]]:
            return self.groups

        return DashboardSources(self.state, b.courses, b.backend, b.settings, b.memory, "", users, groups)

    @property
    def chats(self) -> dict[str, ChatRecord]:
        backend = self.bundle.backend
        assert isinstance(backend, MemoryChats)
        return backend.chats

    def text(self, viewer: str) -> str:
        chat = self.chats[dashboard_chat_id(viewer, COURSE)]
        return str(next(iter(chat.chat["history"]["messages"].values()))["content"])


def with_teachers(config_dir: Path, read_memory: bool) -> None:
    path = config_dir / "courses" / COURSE / "course.toml"
    text = path.read_text().replace('models = ["college-essay-tutor"]', 'models = ["college-essay-tutor"]\n'
                                    f'teachers = ["Essay teachers"]\nteachers_read_memory = {str(read_memory).lower()}')
    path.write_text(text)


def patch_openwebui(monkeypatch: pytest.MonkeyPatch, env: Env) -> None:
    """Open WebUI's users and groups, as the server would answer (the action code reads them through owui)."""
    by_id = {u.id: u for u in USERS}

    async def all_users() -> list[Any]:
        return list(USERS)

    async def user_by_id(user_id: str) -> Any:
        return by_id.get(user_id)

    async def user_by_email(email: str) -> Any:
        return next((u for u in USERS if u.email == email), None)

    async def all_groups() -> list[Any]:
        return [SimpleNamespace(id=name, name=name) for name in env.groups]

    async def group_user_ids(group_id: str) -> list[str]:
        return sorted(env.groups.get(group_id, set()))

    for name, fn in (("all_users", all_users), ("user_by_id", user_by_id), ("user_by_email", user_by_email),
                     ("all_groups", all_groups), ("group_user_ids", group_user_ids)):
        monkeypatch.setattr(owui, name, fn)


@asynccontextmanager
async def dashboard_env(tmp_path: Path, config_dir: Path, read_memory: bool) -> AsyncIterator[Env]:
    with_teachers(config_dir, read_memory)
    plugin = load_plugin("youlab_filter")
    runner = RecordingRunner()
    settings = settings_from_values(plugin.Filter.Valves(config_dir=str(config_dir), storage_root=str(tmp_path / "youlab")))
    bundle: Bundle = bundle_for(settings, backend=MemoryChats(),
                                given=Given(handler=runner.handler))
    assert await bundle.start() is not None
    bundle.backend.pinned = set()  # type: ignore[attr-defined]
    state = bundle.state
    try:
        yield Env(bundle, runner, state)
    finally:
        runner.release.set()
        await process.deactivate(grace_seconds=1)
        if state is not None:
            state.close()


def add_runs(env: Env) -> None:
    """stu-1: a message and a run that succeeded (1,234 tokens); stu-2: a message and a failed run (a 503)."""
    state = env.state
    t0 = datetime.now(UTC) - timedelta(hours=1)
    state.record_message("stu-1", COURSE, t0)
    state.record_message("stu-2", COURSE, t0 + timedelta(minutes=5))
    state.create_runs([
        {"id": "r-ok", "task": "progression-grader", "course_id": COURSE, "user_id": "stu-1", "trigger": "schedule",
         "claimed_at": t0.timestamp(), "started_at": t0.timestamp(), "finished_at": t0.timestamp() + 42,
         "status": "succeeded", "attempts": 1, "token_usage": json.dumps({"total_tokens": 1234})},
        {"id": "r-bad", "task": "progression-grader", "course_id": COURSE, "user_id": "stu-2", "trigger": "after_messages",
         "claimed_at": t0.timestamp() + 60, "started_at": t0.timestamp() + 60, "finished_at": t0.timestamp() + 70,
         "status": "failed", "attempts": 3, "error": "LLMError: upstream 503 Service Unavailable\nTraceback..."},
    ])
