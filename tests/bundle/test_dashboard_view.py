"""The course dashboard's data, rendering and writing (youlab_core.bundle.dashboard_view, threads/dashboard_view):
real state store (SQLite), real memory (git), the shipped course with a teacher group, chats in memory, and Open
WebUI's users and groups as plain lists."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from youlab_core.bundle.dashboard_access import Viewer
from youlab_core.bundle.dashboard_view import gather, refresh_all, write
from youlab_core.dashboard import Access
from youlab_core.threads.dashboard_view import DASHBOARD_TASK, Filters, dashboard_chat_id, render_dashboard

from .dashboard_world import COURSE, Env, add_runs, dashboard_env


@pytest.fixture
async def env(tmp_path: Path, config_dir: Path) -> AsyncIterator[Env]:
    async with dashboard_env(tmp_path, config_dir, read_memory=False) as world:
        yield world


async def test_admins_and_teachers_get_a_pinned_registered_dashboard_students_and_others_none(env: Env) -> None:
    add_runs(env)
    assert await refresh_all(env.sources()) == 2  # the admin and the course's teacher
    chats = env.chats
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
