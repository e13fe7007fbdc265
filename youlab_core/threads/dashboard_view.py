"""The course dashboard: one read-only chat per (viewer, course), "Course dashboard - <course>", written for Open WebUI
admins and the course's teachers (docs/dashboard.md, issue 13).

This module holds what the dashboard IS: its chat id, title, data, Markdown and chat JSON. The bundle gathers the
figures (youlab_core.dashboard via youlab_core.bundle.dashboard_view) and writes the chat. The chat is registered
in the thread registry under the task `DASHBOARD_TASK` (':' is never in a course task's name), so every read-only
guard treats it as an agent thread and the run-thread code never sees it. Plain words throughout: task titles and
people's names, never keys; a run's technical error only as its first line, after a sentence that says what it means.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from ..dashboard import CourseStatus, Health, RunLine, StudentProgress, failure_reason, format_duration, run_duration, run_tokens
from ..state import TaskAction
from .model import AGENT_TYPE, META_KEY, REPORT_KEY, agent_model_id

DASHBOARD_TASK = "youlab:dashboard"  # the registry's task for a dashboard chat (and its view model's suffix)
DASHBOARD_KIND = "course_dashboard"  # chat.meta.youlab.kind
DASHBOARD_AGENT = "Course dashboard"  # the view model's name: the message header, the read-only refusal
DASHBOARD_ACTION_ID = "youlab_dashboard"  # its buttons (plugins/youlab_dashboard.py)
STUDENTS_SHOWN = 50  # in the dashboard itself; "Students of a course" pages through the rest
STALE_TICK = timedelta(minutes=5)  # a scheduler silent this long is marked


def dashboard_chat_id(viewer_id: str, course_id: str) -> str:
    """One chat id per (viewer, course): every refresh finds the chat it made."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"youlab-course-dashboard:{viewer_id}:{course_id}"))


def view_title(course_name: str) -> str:
    return f"Course dashboard \u2014 {course_name}"


def view_model() -> str:
    return agent_model_id(DASHBOARD_TASK)


@dataclass(frozen=True)
class Filters:
    """What the runs section shows: one task (its name) and one run status; "" = all."""

    task: str = ""
    status: str = ""

    def as_json(self) -> dict[str, str]:
        return {"task": self.task, "status": self.status}


@dataclass
class DashboardData:
    viewer_id: str
    role: str  # "admin" | "teacher"
    reads_values: bool  # whether this viewer may read students' memory contents (on request, recorded)
    course: CourseStatus
    health: Health
    now: datetime
    actions: list[TaskAction] = field(default_factory=list)  # recent actions on the course's tasks, newest first
    names: dict[str, str] = field(default_factory=dict)  # user id -> "Name (email)"
    filters: Filters = Filters()
    extra: tuple[str, ...] = ()  # sections an action shows on top (a page of students, a result)
    students_total: int = 0  # the course's students; `course.students` holds the most recently active of them

    def to_dict(self) -> dict[str, Any]:
        return {"viewer": self.viewer_id, "course": self.course.course_id, "filters": self.filters.as_json()}


def _md(text: str) -> str:
    """Literal text inside a Markdown table cell (a name could otherwise make a link, a column or a heading)."""
    out = " ".join(str(text).split())
    for ch in "\\`*_[]<>#|":
        out = out.replace(ch, "\\" + ch)
    return out


def when(value: datetime | None, now: datetime | None = None) -> str:
    """"Nov 26, 14:20" (UTC), with "(3 min ago)" when `now` is given; "-" for none."""
    if value is None:
        return "-"
    shown = f"{value:%b} {value.day}, {value:%H:%M}"
    if now is None:
        return shown
    ago = (now - value).total_seconds()
    if ago < 0:
        return f"{shown} (in {format_duration(-ago)})"
    return f"{shown} ({format_duration(ago)} ago)"


def who(user_id: str, names: dict[str, str]) -> str:
    return _md(names.get(user_id) or user_id)


def _table(header: tuple[str, ...], rows: Sequence[tuple[str, ...]]) -> list[str]:
    return ["| " + " | ".join(header) + " |", "|" + "---|" * len(header),
            *("| " + " | ".join(cell or "-" for cell in row) + " |" for row in rows), ""]


_STATUS_WORDS = {"succeeded": "done", "failed": "**failed**", "retrying": "**failed, will retry**",
                 "running": "running", "claimed": "starting", "skipped": "skipped"}


def _run_row(line: RunLine, data: DashboardData) -> tuple[str, ...]:
    r = line.run
    tokens = run_tokens(r)
    reason = ""
    if line.failed:
        reason = _md(failure_reason(r.error))
        if line.next_retry is not None:
            reason += f"; next try {when(line.next_retry)}"
    return (when(r.started_at or r.claimed_at), _md(r.trigger.replace("_", " ")), who(r.user_id, data.names),
            format_duration(run_duration(r)), _STATUS_WORDS.get(r.status, r.status),
            "-" if tokens is None else f"{tokens:,}", reason)


def render_runs(data: DashboardData) -> list[str]:
    out = ["### Runs", ""]
    shown = [t for t in data.course.tasks if data.filters.task in ("", t.task)]
    if data.filters.task or data.filters.status:
        out += [f"_Filtered: {data.filters.status or 'any'} runs of "
                f"{next((t.title for t in shown), data.filters.task) if data.filters.task else 'every task'}. "
                "**Refresh** without a filter shows everything._", ""]
    if not shown:
        out += ["This course has no background agents.", ""]
    for task in shown:
        badges = []
        if task.failing:
            badges.append("\u26a0\ufe0f **failing**")
        if task.paused is not None:
            badges.append(f"\u23f8\ufe0f **paused** by {_md(task.paused.paused_by)} since "
                          f"{when(task.paused.paused_at)}")
        out += [f"#### {_md(task.title)}" + (" \u00b7 " + " \u00b7 ".join(badges) if badges else ""), ""]
        triggers = ", ".join(t.replace("_", " ") for t in task.triggers) or "none"
        out += [f"Triggers: {triggers}. Waiting: {task.due} due now, {task.later} later, {task.claimed} running."
                + (" A paused task keeps counting; nothing starts until it is resumed." if task.paused else ""), ""]
        runs = [line for line in task.runs if data.filters.status in ("", line.run.status)]
        if runs:
            out += _table(("Started (UTC)", "Trigger", "Student", "Took", "Status", "Tokens", "Why it failed"),
                          [_run_row(line, data) for line in runs])
        else:
            out += ["No runs" + (" with this status" if data.filters.status else " yet") + ".", ""]
    return out


def render_health(data: DashboardData) -> list[str]:
    h = data.health
    out = ["### Health", ""]
    if data.course.problems:
        out.append("Configuration problems (the last good version of the course keeps running):")
        out += _table(("File", "Setting", "Problem", "Since (UTC)"),
                      [(_md(p.file), _md(p.key), _md(p.reason), when(h.problems_since.get(p.file)))
                       for p in data.course.problems])
    else:
        out += ["The course file has no problems.", ""]
    if h.heartbeats:
        out.append("Schedulers (one per process):")
        rows = []
        for beat in h.heartbeats:
            late = " \u26a0\ufe0f silent" if data.now - beat.at > STALE_TICK else ""
            rows.append((_md(beat.owner), when(beat.at) + late, when(beat.started_at)))
        out += _table(("Process", "Last tick (UTC)", "Running since (UTC)"), rows)
    else:
        out += ["\u26a0\ufe0f No scheduler has ticked yet: nothing runs on its own.", ""]
    out += ["Waiting to be sent: " + "; ".join(
        f"{queue.title()} {stats.queued:,} queued" + (f", {stats.dead:,} given up" if stats.dead else "")
        + (f", {stats.overflowed:,} dropped (queue full)" if stats.overflowed else "")
        for queue, stats in h.outbox.items()) + ".", ""]
    if h.blocked:
        out.append("**What will not run:**")
        out += [f"- {_md(line)}" for line in h.blocked]
        out.append("")
    else:
        out += ["Every task can run.", ""]
    return out


def student_rows(students: list[StudentProgress], names: dict[str, str]) -> list[str]:
    return _table(("Student", "Last activity (UTC)", "Messages", "Runs", "Failed", "Proposed", "Approved", "Rejected",
                   "Waiting", "Time to decide"),
                  [(who(s.user_id, names), when(s.last_activity), f"{s.messages:,}", f"{s.runs:,}",
                    f"{s.failed_runs:,}", f"{s.proposed:,}", f"{s.approved:,}", f"{s.rejected:,}", f"{s.waiting:,}",
                    format_duration(s.decide_seconds)) for s in students])


def render_students(data: DashboardData) -> list[str]:
    students = sorted(data.course.students or [], key=lambda s: (
        s.last_activity is None, -(s.last_activity.timestamp()) if s.last_activity else 0, s.user_id))[:STUDENTS_SHOWN]
    total = max(data.students_total, len(data.course.students or []))
    out = [f"### Students ({total:,})", ""]
    if not students:
        return out + ["No student has written in this course yet.", ""]
    if total > len(students):
        out += [f"The {len(students)} most recently active; **Students of a course** searches and pages through all "
                "of them.", ""]
    out += student_rows(students, data.names)
    out += ["_Time to decide: the median time from an agent proposing a change to the student deciding it. "
            + ("You may read a student's memory with **Memory of a student**; the student sees that you did._"
               if data.reads_values else "Memory contents are not shown to you (the course's "
               "`teachers_read_memory` setting, or Open WebUI's admin chat access for admins)._"), ""]
    return out


_ACTION_WORDS = {"pause": "paused", "resume": "resumed", "run": "ran by hand", "retry": "retried a failed run of"}


def render_actions(data: DashboardData) -> list[str]:
    if not data.actions:
        return []
    titles = {t.task: t.title for t in data.course.tasks}
    rows = [(when(a.at), _md(a.actor), f"{_ACTION_WORDS.get(a.action, a.action)} {_md(titles.get(a.task, a.task))}",
             _md(a.note)) for a in data.actions]
    return ["### Who did what", "", *_table(("When (UTC)", "Who", "What", "Note"), rows)]


def render_dashboard(data: DashboardData) -> str:
    c = data.course
    as_whom = "an administrator" if data.role == "admin" else "a teacher of this course"
    out = [f"## Course dashboard \u2014 {_md(c.name)}", "",
           f"_Updated {when(data.now)} UTC; you see it as {as_whom}. Use the buttons under this message: **Refresh**, "
           "**Students of a course**, **Run by hand**, **Retry a failed run**, **Pause a task**, **Resume a task**._",
           ""]
    for extra in data.extra:
        out += [extra.rstrip(), ""]
    failing = [t.title for t in c.tasks if t.failing]
    if failing or c.problems or data.health.blocked:
        notes = ([f"failing: {', '.join(_md(t) for t in failing)}"] if failing else []) + \
                ([f"{len(c.problems)} configuration problem(s)"] if c.problems else []) + \
                ([f"{len(data.health.blocked)} thing(s) will not run"] if data.health.blocked else [])
        out += ["> \u26a0\ufe0f **Needs attention**: " + "; ".join(notes) + ".", ""]
    out += render_runs(data) + render_health(data) + render_students(data) + render_actions(data)
    return "\n".join(out).rstrip() + "\n"


def view_meta(data: DashboardData) -> dict[str, Any]:
    return {META_KEY: {"type": AGENT_TYPE, "kind": DASHBOARD_KIND, "task": DASHBOARD_TASK, "agent": DASHBOARD_AGENT,
                       "course": data.course.course_id}}


def view_chat_json(data: DashboardData, *, message_id: str, now: float | None = None) -> dict[str, Any]:
    ts = int(now if now is not None else time.time())
    model = view_model()
    message: dict[str, Any] = {"id": message_id, "parentId": None, "childrenIds": [], "role": "assistant",
                               "content": render_dashboard(data), "model": model, "modelName": DASHBOARD_AGENT,
                               "modelIdx": 0, "timestamp": ts, "done": True}
    return {"title": view_title(data.course.name), "models": [model], "params": {},
            "history": {"currentId": message_id, "messages": {message_id: message}}, "messages": [message],
            "tags": [], "files": [], "timestamp": ts * 1000,
            REPORT_KEY: {**data.to_dict(), "kind": DASHBOARD_KIND, "message_id": message_id}}
