"""Gathering and writing the course dashboards ("Course dashboard - <course>", docs/dashboard.md).

Who gets one: every Open WebUI admin (every course) and every member of a course's teacher groups (that course).
Each dashboard is a chat of the viewer's with a fixed id per (viewer, course), created on first write, registered in
the thread registry under DASHBOARD_TASK (so every read-only guard applies) and pinned, so it is one click away in the
sidebar without the viewer doing anything first. `DashboardRefresher` (a background part of the bundle) rewrites
every dashboard each DASHBOARD_REFRESH_SECONDS, and each button rewrites the acting viewer's at once. A dashboard whose figures
did not change is not written again (only its "Updated" line would differ).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from ..config import Course, CourseRegistry
from ..dashboard import Access, course_status
from ..dashboard_students import student_page
from ..openwebui import internals as owui
from ..threads.dashboard_view import (
    DASHBOARD_TASK,
    STUDENTS_SHOWN,
    DashboardData,
    Filters,
    dashboard_chat_id,
    render_dashboard,
    view_chat_json,
    view_meta,
)
from ..threads.model import REPORT_KEY
from ..threads.openwebui import OpenWebUIChats
from .dashboard_access import Viewer

log = logging.getLogger(__name__)

DASHBOARD_REFRESH_SECONDS = 60.0
UsersSource = Callable[[], Awaitable[list[Any]]]  # Open WebUI's users (id, role, name, email)
GroupsSource = Callable[[], Awaitable[dict[str, set[str]]]]  # group name -> member ids


async def openwebui_users() -> list[Any]:
    return await owui.all_users()


async def openwebui_groups() -> dict[str, set[str]]:
    return {str(g.name): set(await owui.group_user_ids(g.id)) for g in await owui.all_groups()}


@dataclass
class DashboardSources:
    """What the dashboards are read from and written to (a running bundle's parts)."""

    state: Any
    courses: CourseRegistry
    backend: Any
    settings: Any
    memory: Any
    problem: str = ""  # why no agent can run in this process ("" when they can)
    users: UsersSource = openwebui_users
    groups: GroupsSource = openwebui_groups


def names_of(users: list[Any]) -> dict[str, str]:
    """user id -> "Name (email)" (or whichever of the two is set)."""
    out = {}
    for u in users:
        name, email = str(getattr(u, "name", "") or ""), str(getattr(u, "email", "") or "")
        out[str(u.id)] = f"{name} ({email})" if name and email else (name or email or str(u.id))
    return out


async def gather(src: DashboardSources, viewer: Viewer, course: Course, acc: Access, *, filters: Filters = Filters(),
                 extra: tuple[str, ...] = (), names: dict[str, str] | None = None,
                 cache: dict[str, Any] | None = None) -> DashboardData:
    """The viewer's dashboard data: the course's figures and its STUDENTS_SHOWN most recently active students.
    `cache`: figures already computed for this course in this round (every viewer of a course sees the same figures;
    only what they may do differs)."""
    now = datetime.now(UTC)
    found: Any = cache.get(course.id) if cache is not None and filters == Filters() else None
    if found is None:
        status = await asyncio.to_thread(
            course_status, src.state, src.courses, now, course=course.id, students=False,
            status=filters.status or None, task=filters.task or None, agents_problem=src.problem)
        page = await asyncio.to_thread(student_page, src.state, course, src.settings.users_root, limit=STUDENTS_SHOWN)
        found = (status, page)
        if cache is not None and filters == Filters():
            cache[course.id] = found
    status, (total, students) = found
    [figures] = status.courses
    figures = replace(figures, students=students)
    if names is None:
        names = names_of(await src.users())
    return DashboardData(viewer.id, acc.role, acc.reads_values, figures, status.health, now, figures.actions, names,
                         filters, extra, total)


def _without_time(content: str) -> str:
    return "\n".join(line for line in content.splitlines() if not line.startswith("_Updated "))


async def write(src: DashboardSources, data: DashboardData, *, force: bool = False) -> tuple[str, str, str]:
    """Write the viewer's dashboard of this course (create, register and pin it the first time); unchanged figures
    are not written again unless `force`. Returns (chat id, message id, content)."""
    chat_id = dashboard_chat_id(data.viewer_id, data.course.course_id)
    existing = await src.backend.get_chat(chat_id)
    content = render_dashboard(data)
    if existing is None or existing.user_id != data.viewer_id:
        message_id = f"dashboard-{chat_id}"
        await src.backend.create_chat(data.viewer_id, view_chat_json(data, message_id=message_id,
                                                                     now=data.now.timestamp()),
                                      folder_id=None, meta=view_meta(data), chat_id=chat_id)
        await asyncio.to_thread(src.state.register_thread, chat_id, data.viewer_id, DASHBOARD_TASK,
                                data.course.course_id, None, data.now)
        try:
            await _pin(src, chat_id)
        except Exception:  # the dashboard still works unpinned
            log.warning("course dashboard %s could not be pinned", chat_id, exc_info=True)
        return chat_id, message_id, content
    report = existing.chat.get(REPORT_KEY)
    message_id = str(report.get("message_id")) if isinstance(report, dict) and report.get("message_id") \
        else f"dashboard-{chat_id}"
    old = (existing.chat.get("history") or {}).get("messages", {}).get(message_id)
    if not force and isinstance(old, dict) and _without_time(str(old.get("content"))) == _without_time(content):
        return chat_id, message_id, str(old.get("content"))
    fresh = view_chat_json(data, message_id=message_id)
    message = fresh["history"]["messages"][message_id]
    if isinstance(old, dict):  # keep Open WebUI's own keys of the message (its timestamp, its place in the tree)
        message = {**old, **{k: message[k] for k in ("content", "model", "modelName", "role", "done")}}
    await src.backend.update_chat_json(chat_id, {"history": {"messages": {message_id: message}},
                                                 "messages": [message], REPORT_KEY: fresh[REPORT_KEY]})
    return chat_id, message_id, content


async def _pin(src: DashboardSources, chat_id: str) -> None:
    if isinstance(src.backend, OpenWebUIChats):
        await owui.pin_chat(chat_id)
    else:  # MemoryChats in tests
        pinned = getattr(src.backend, "pinned", None)
        if isinstance(pinned, set):
            pinned.add(chat_id)


async def viewers(src: DashboardSources, users: list[Any]) -> dict[str, list[tuple[Viewer, Course, Access]]]:
    """Per course id: every admin and every member of the course's teacher groups, with their access."""
    from ..dashboard import access
    from .dashboard_access import admin_chat_access

    groups = await src.groups()
    chat_access = admin_chat_access()
    out: dict[str, list[tuple[Viewer, Course, Access]]] = {}
    for course in src.courses.courses.values():
        members = {uid for name in course.agent.teachers for uid in groups.get(name, set())}
        for u in users:
            viewer = Viewer(str(u.id), str(getattr(u, "role", "") or ""), str(getattr(u, "name", "") or ""),
                            str(getattr(u, "email", "") or ""))
            if viewer.role != "admin" and viewer.id not in members:
                continue
            mine = {name for name in course.agent.teachers if viewer.id in groups.get(name, set())}
            acc = access(course, role=viewer.role, groups=mine, admin_chat_access=chat_access)
            if acc.allowed:
                out.setdefault(course.id, []).append((viewer, course, acc))
    return out


async def refresh_all(src: DashboardSources) -> int:
    """Write every admin's and teacher's dashboards; returns how many were written. One failure is logged and the
    others go on."""
    users = await src.users()
    names = names_of(users)
    cache: dict[str, Any] = {}
    written = 0
    for entries in (await viewers(src, users)).values():
        for viewer, course, acc in entries:
            try:
                data = await gather(src, viewer, course, acc, names=names, cache=cache)
                await write(src, data)
                written += 1
            except Exception:
                log.warning("course dashboard of %s for %s could not be written", course.id, viewer.id, exc_info=True)
    return written


@dataclass
class DashboardRefresher:
    """The bundle's background part that keeps every dashboard current (each DASHBOARD_REFRESH_SECONDS, first at start)."""

    src: DashboardSources
    seconds: float = DASHBOARD_REFRESH_SECONDS
    _task: asyncio.Task[None] | None = field(default=None, repr=False)
    _wake: asyncio.Event | None = field(default=None, repr=False)

    def start(self) -> None:
        self._wake = asyncio.Event()
        self._task = asyncio.get_running_loop().create_task(self._loop(), name="youlab-dashboards")

    def soon(self) -> None:
        """Refresh every dashboard now (after an action, so the other viewers see it too)."""
        if self._wake is not None:
            self._wake.set()

    async def _loop(self) -> None:
        assert self._wake is not None
        while True:
            try:
                await refresh_all(self.src)
            except Exception:  # Open WebUI's users or groups unreadable for a moment: next round tries again
                log.warning("course dashboards could not be refreshed", exc_info=True)
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=self.seconds)
            except TimeoutError:
                pass
            self._wake.clear()

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
