"""The course dashboard's data, rendering and writing (youlab_core.bundle.dashboard_view, threads/dashboard_view):
real state store (SQLite), real memory (git), the shipped course with a teacher group, chats in memory, and Open
WebUI's users and groups as plain lists."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from youlab_core.bundle import Given, bundle_for, process, settings_from_values
from youlab_core.bundle.context import Bundle
from youlab_core.bundle.dashboard_view import DashboardSources, gather, refresh_all, write
from youlab_core.bundle.dashboard_access import Viewer
from youlab_core.dashboard import Access
from youlab_core.threads import MemoryChats
from youlab_core.threads.dashboard_view import DASHBOARD_TASK, Filters, dashboard_chat_id, render_dashboard

from .conftest import RecordingRunner, load_plugin

COURSE = "college-essay"
USERS = [SimpleNamespace(id="adm", role="admin", name="Ada Admin", email="ada@example.org"),
         SimpleNamespace(id="tea", role="user", name="Tom Teacher", email="tom@example.org"),
         SimpleNamespace(id="oth", role="user", name="Olga Other", email="olga@example.org"),
         SimpleNamespace(id="stu-1", role="user", name="Sam Student", email="sam@example.org"),
         SimpleNamespace(id="stu-2", role="user", name="Sue Student", email="sue@example.org")]
GROUPS = {"Essay teachers": {"tea"}, "Math teachers": {"oth"}}


@dataclass
class Env:
    bundle: Bundle
    runner: RecordingRunner
    state: Any  # the bundle's state store (kept when a test stops the bundle's background parts)
    groups: dict[str, set[str]] = field(default_factory=lambda: {k: set(v) for k, v in GROUPS.items()})

    def sources(self) -> DashboardSources:
        b = self.bundle

        async def users() -> list[Any]:
            return list(USERS)

        async def groups() -> dict[str, set[str]]:
            return self.groups

        return DashboardSources(self.state, b.courses, b.backend, b.settings, b.memory, "", users, groups)

    def text(self, viewer: str) -> str:
        chat = self.bundle.backend.chats[dashboard_chat_id(viewer, COURSE)]
        return str(next(iter(chat.chat["history"]["messages"].values()))["content"])


def with_teachers(config_dir: Path, read_memory: bool) -> None:
    path = config_dir / "courses" / COURSE / "course.toml"
    text = path.read_text().replace('models = ["college-essay-tutor"]', 'models = ["college-essay-tutor"]\n'
                                    f'teachers = ["Essay teachers"]\nteachers_read_memory = {str(read_memory).lower()}')
    path.write_text(text)


@pytest.fixture(params=[False], ids=["private"])
async def env(request: pytest.FixtureRequest, tmp_path: Path, config_dir: Path) -> AsyncIterator[Env]:
    with_teachers(config_dir, request.param)
    plugin = load_plugin("youlab_filter")
    flt = plugin.Filter()
    flt.valves = flt.Valves(config_dir=str(config_dir), storage_root=str(tmp_path / "youlab"))
    runner = RecordingRunner()
    bundle: Bundle = bundle_for(settings_from_values(flt.valves), backend=MemoryChats(),
                                given=Given(handler=runner.handler))
    assert await bundle.start() is not None
    bundle.backend.pinned = set()  # type: ignore[attr-defined]
    state = bundle.state
    yield Env(bundle, runner, state)
    runner.release.set()
    await process.deactivate(grace_seconds=1)
    if state is not None:
        state.close()


def add_runs(env: Env) -> None:
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


async def test_admins_and_teachers_get_a_pinned_registered_dashboard_students_and_others_none(env: Env) -> None:
    add_runs(env)
    assert await refresh_all(env.sources()) == 2  # the admin and the course's teacher
    chats = env.bundle.backend.chats
    for viewer in ("adm", "tea"):
        chat_id = dashboard_chat_id(viewer, COURSE)
        assert chats[chat_id].user_id == viewer and chats[chat_id].title == "Course dashboard \u2014 College Essay Coach"
        assert chat_id in env.bundle.backend.pinned  # type: ignore[attr-defined]
        record = env.state.thread(chat_id)
        assert record is not None and record.task == DASHBOARD_TASK and record.user_id == viewer
        info = await env.bundle.guard.is_agent_thread(chat_id, viewer)  # read-only like an agent thread
        assert info is not None and "registry" in info.sources
    for nobody in ("oth", "stu-1", "stu-2"):
        assert dashboard_chat_id(nobody, COURSE) not in chats


async def test_the_dashboard_reads_in_plain_words(env: Env) -> None:
    add_runs(env)
    env.state.pause_task("milestone-tracker", COURSE, "Ada Admin (ada@example.org)", "exam week")
    env.state.record_heartbeat("host:1:abc")
    await refresh_all(env.sources())
    text = env.text("tea")
    assert "you see it as a teacher of this course" in text and "**Needs attention**: failing: Progression Grader" in text
    assert "#### Progression Grader \u00b7 \u26a0\ufe0f **failing**" in text
    assert "A service it needs could not be reached (LLMError: upstream 503 Service Unavailable)" in text
    assert "Traceback" not in text and "1,234" in text and "42.0s" in text
    assert "Sam Student (sam@example.org)" in text and "after messages" in text
    assert "\u23f8\ufe0f **paused** by Ada Admin (ada@example.org)" in text
    assert "Milestone Tracker is paused by Ada Admin (ada@example.org) (exam week)" in text
    assert "host:1:abc" in text and "### Students (2)" in text and "Memory contents are not shown to you" in text
    assert "| Ada Admin (ada@example.org) | paused Milestone Tracker | exam week |" in text  # who did what
    assert "progression-grader" not in text  # task titles, never keys


async def test_filters_show_one_task_and_status(env: Env) -> None:
    add_runs(env)
    src = env.sources()
    course = env.bundle.courses.course(COURSE)
    data = await gather(src, Viewer("adm", "admin"), course, Access(True, "admin", True),
                        filters=Filters("progression-grader", "succeeded"))
    text = render_dashboard(data)
    assert "#### Progression Grader" in text and "#### Milestone Tracker" not in text
    runs = text.split("### Runs")[1].split("### Health")[0]
    assert "_Filtered: succeeded runs of Progression Grader." in runs
    assert "Sam Student" in runs and "Sue Student" not in runs and "could not be reached" not in runs


async def test_unchanged_figures_are_not_written_again(env: Env) -> None:
    src, state = env.sources(), env.state
    await env.bundle.stop_background()  # no scheduler: the figures change only when the test changes them
    add_runs(env)
    course = env.bundle.courses.course(COURSE)
    acc = Access(True, "teacher", False)
    await write(src, await gather(src, Viewer("tea", "user"), course, acc))
    writes: list[str] = []
    original = env.bundle.backend.update_chat_json

    async def counting(chat_id: str, changes: dict[str, Any]) -> None:
        writes.append(chat_id)
        await original(chat_id, changes)

    env.bundle.backend.update_chat_json = counting  # type: ignore[method-assign]
    await write(src, await gather(src, Viewer("tea", "user"), course, acc))
    assert writes == []
    state.record_message("stu-1", COURSE, datetime.now(UTC))
    await write(src, await gather(src, Viewer("tea", "user"), course, acc))
    assert writes == [dashboard_chat_id("tea", COURSE)]


async def test_a_student_who_joins_the_teacher_group_gets_a_dashboard_and_leaving_stops_updates(env: Env) -> None:
    env.groups["Essay teachers"].add("stu-1")
    assert await refresh_all(env.sources()) == 3
    env.groups["Essay teachers"].discard("stu-1")
    assert await refresh_all(env.sources()) == 2
