"""The course dashboard's buttons (plugins/youlab_dashboard.py is the thin shell; docs/dashboard.md):

  refresh   optionally only one task's runs and one status;
  students  the course's students, searched by name, email or id, a page at a time;
  memory    one student's memory values, only when the viewer may read them; recorded in the student's history first;
  run       run a task by hand for chosen students;        retry   run a failed run's task again for its student;
  pause     pause a task (its triggers keep counting);     resume  resume a paused task.

Every button, every time, on the server: the chat must be the acting user's own dashboard (registered under
DASHBOARD_TASK with this user's dashboard id), and `dashboard_access.check` must allow them this course; anyone else
is refused with one plain sentence whatever the body says. Browser answers come from Open WebUI's input and
confirmation dialogs; API callers put them in `"youlab": {...}` (docs/dashboard.md). Each action is recorded with who
did it (pause/resume and run/retry in the state store's task actions, memory reads in the student's repository).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from ..config import Course
from ..dashboard import Access
from ..dashboard_students import student_page
from ..errors import NotFound, UserFacingError, YoulabError
from ..state import RunStatus
from ..threads.dashboard_view import DASHBOARD_TASK, Filters, dashboard_chat_id, student_rows, when
from ..threads.report import value_text
from . import dashboard_view as views
from .dashboard_access import NOT_A_VIEWER, DashboardRefused, Viewer, check, record_read
from .memory_view import refresh_quietly

if TYPE_CHECKING:
    from ..state import StateStore
    from .context import Bundle

log = logging.getLogger(__name__)

DASHBOARD_BUTTONS = ("refresh", "students", "memory", "run", "retry", "pause", "resume")
EventCall = Callable[[dict[str, Any]], Awaitable[Any]] | None
Emit = Callable[[dict[str, Any]], Awaitable[Any]] | None
STATUSES = {"failed": "Failed", "retrying": "Failed, will retry", "succeeded": "Done", "running": "Running"}
PAGE = 100
EVERY = "*"  # the "no filter" choice of a select (an empty value reads as a closed dialog)
FAILED = "The dashboard could not do this right now; try again later (the server log has the details)."
NO_DIALOGS = 'No browser session for the dialogs. API callers pass "youlab": {...} (see docs/dashboard.md).'


class DashboardActionError(UserFacingError):
    """A wrong input or an action that cannot be done now; the viewer reads its text."""


class _DialogClosed(YoulabError):
    """The viewer closed a dialog: nothing is done (control flow, never shown)."""


def _state(bundle: Bundle) -> StateStore:
    if bundle.state is None:
        raise DashboardActionError("The dashboard is not available right now; try again in a few minutes.")
    return bundle.state


def sources(bundle: Bundle) -> views.DashboardSources:
    parts = bundle.parts
    return views.DashboardSources(bundle.state, bundle.courses, bundle.backend, bundle.settings, bundle.memory,
                                  parts.problem if parts is not None else "")


async def dashboard_of(bundle: Bundle, body: Any, viewer: Viewer) -> tuple[Course, Access]:
    """(course, access) when the body's chat is this viewer's dashboard and they may see the course; else refused."""
    chat_id = body.get("chat_id") if isinstance(body, dict) else None
    if not viewer.id or not isinstance(chat_id, str) or not chat_id:
        raise DashboardRefused(NOT_A_VIEWER)
    chat = await bundle.backend.get_chat(chat_id)
    if chat is None or chat.user_id != viewer.id or bundle.state is None:
        raise DashboardRefused(NOT_A_VIEWER)  # the same answer for "not yours" and "does not exist"
    record = await asyncio.to_thread(_state(bundle).thread, chat_id)
    if record is None or record.task != DASHBOARD_TASK or record.user_id != viewer.id \
            or chat_id != dashboard_chat_id(viewer.id, record.course_id):
        raise DashboardRefused(NOT_A_VIEWER)
    try:
        course = bundle.courses.course(record.course_id)
    except NotFound:
        raise DashboardActionError("This course is no longer offered; its dashboard is not updated any more.") from None
    return course, await check(viewer, course)


async def _ask(event_call: EventCall, given: dict[str, Any] | None, key: str, event: dict[str, Any]) -> Any:
    """The answer for `key`: from the API body when the caller gave one, else from a dialog."""
    if given is not None:
        return given.get(key)
    if event_call is None:
        raise DashboardActionError(NO_DIALOGS)
    try:
        answer = await event_call(event)
    except Exception:
        raise DashboardActionError(NO_DIALOGS) from None
    if answer is None or answer is False or (isinstance(answer, dict) and "error" in answer):
        raise _DialogClosed
    return answer


def _select(title: str, message: str, options: list[tuple[str, str]]) -> dict[str, Any]:
    return {"type": "input", "data": {"title": title, "message": message, "type": "select",
                                      "options": [{"label": label, "value": value} for value, label in options],
                                      "value": options[0][0] if options else ""}}


def _text(title: str, message: str, placeholder: str = "") -> dict[str, Any]:
    return {"type": "input", "data": {"title": title, "message": message, "placeholder": placeholder}}


async def _confirm(event_call: EventCall, given: dict[str, Any] | None, title: str, message: str) -> None:
    if given is not None:
        if given.get("confirm") is not True:
            raise DashboardActionError(f'Nothing done: pass "youlab": {{"confirm": true, ...}} to {title.lower()}.')
        return
    await _ask(event_call, None, "confirm", {"type": "confirmation", "data": {"title": title, "message": message}})


def _task(course: Course, name: Any) -> Any:
    found = next((t for t in course.tasks if t.name == name), None)
    if found is None:
        raise DashboardActionError(f"{course.agent.name} has no task {name!r} (its tasks: "
                                   f"{', '.join(t.name for t in course.tasks) or 'none'}); nothing was done.")
    return found


async def _refresh(bundle: Bundle, viewer: Viewer, course: Course, acc: Access, given: dict[str, Any] | None,
                   event_call: EventCall) -> tuple[str, tuple[str, ...], Filters]:
    task = await _ask(event_call, given, "task", _select("Show the runs of", "Which task?", [
        (EVERY, "Every task"), *((t.name, t.title) for t in course.tasks)]))
    status = await _ask(event_call, given, "status", _select("Show runs that are", "Which status?", [
        (EVERY, "Any status"), *STATUSES.items()]))
    task, status = ("" if v in (None, EVERY) else v for v in (task, status))
    if task:
        _task(course, task)
    if status not in ("", *STATUSES):
        raise DashboardActionError(f"{status!r} is not a run status (one of: {', '.join(STATUSES)}).")
    return "", (), Filters(str(task), str(status))


async def _students(bundle: Bundle, viewer: Viewer, course: Course, acc: Access, given: dict[str, Any] | None,
                    event_call: EventCall) -> tuple[str, tuple[str, ...], Filters]:
    search = await _ask(event_call, given, "search", _text(
        "Students of this course", "Search by name, email or id; leave empty for everyone.", "Name, email or id"))
    page = given.get("page", 1) if given is not None else 1
    if not isinstance(page, int) or page < 1:
        raise DashboardActionError('"youlab.page" must be a whole number from 1.')
    src = sources(bundle)
    names = views.names_of(await src.users())
    words = str(search or "").strip().lower()
    matching = [uid for uid, name in names.items() if words in uid.lower() or words in name.lower()] if words else None
    total, shown = await asyncio.to_thread(student_page, _state(bundle), course, bundle.settings.users_root,
                                           limit=PAGE, offset=(page - 1) * PAGE, user_ids=matching)
    head = (f"### Students matching \u201c{search}\u201d" if words else "### Every student") + \
        f" ({total:,}; {len(shown)} shown, page {page} of {max(1, -(-total // PAGE))})"
    body = "\n".join(student_rows(shown, names)) if shown else "No student matches."
    return "", (f"{head}\n\n{body}",), Filters()


async def _memory(bundle: Bundle, viewer: Viewer, course: Course, acc: Access, given: dict[str, Any] | None,
                  event_call: EventCall) -> tuple[str, tuple[str, ...], Filters]:
    if not acc.reads_values:
        raise DashboardRefused("You cannot read students' memory in this course: the course's teachers_read_memory "
                               "setting is off (for administrators: Open WebUI's ENABLE_ADMIN_CHAT_ACCESS).")
    who = await _ask(event_call, given, "student", _text(
        "Read the memory of a student", "Their email address or user id.", "student@example.org"))
    user_id = await _one_student(bundle, course, str(who or ""))
    await _confirm(event_call, given, "Read the memory of this student",
                   "The student will see in their memory view that you looked, and when.")
    memory = bundle.memory.student(user_id)
    await asyncio.to_thread(record_read, memory, viewer, acc.role, course.id, datetime.now(UTC))
    await refresh_quietly(bundle, user_id, course.id)  # the student's memory view says who looked, at once
    lines = [f"### Memory of {views.names_of(await sources(bundle).users()).get(user_id, user_id)}", "",
             "_Your reading is recorded in the student's history._", ""]
    for block, spec in course.blocks.items():
        values = (await asyncio.to_thread(memory.read_block, course, block)).values
        lines += [f"#### {spec.title or block}", ""]
        lines += [f"- **{(f.description or name).rstrip('.')}**: {value_text(values.get(name)) or '(empty)'}"
                  for name, f in spec.fields.items()]
        lines.append("")
    return "", ("\n".join(lines),), Filters()


async def _one_student(bundle: Bundle, course: Course, text: str) -> str:
    from .agents import resolve_targets

    ids, problems = await resolve_targets(text, {"id": ""})
    if problems or not ids or len(ids) != 1:
        raise DashboardActionError("Name one student by email address or user id" +
                                   (f" ({'; '.join(problems)})" if problems else "") + "; nothing was read.")
    active = await asyncio.to_thread(_state(bundle).activity, ids[0], course.id)
    if active is None and not await asyncio.to_thread(_state(bundle).list_runs, None, None, ids[0], 1):
        raise DashboardActionError("That person has no activity in this course; nothing was read.")
    return ids[0]


async def _run(bundle: Bundle, task: Any, targets: list[str], viewer: Viewer, action: str, note: str,
               course: Course) -> str:
    from ..manual import manual_run

    parts = await bundle.start()
    if parts is None or parts.scheduler is None or parts.runner is None:
        why = parts.problem if parts is not None and parts.problem else "the state store cannot be opened"
        raise DashboardActionError(f"{task.title} cannot run now: {why}. Nothing was started.")
    await asyncio.to_thread(_state(bundle).record_task_action, task.name, course.id, action, viewer.label, note)
    report = await manual_run(parts.scheduler, parts.runner, task.name, targets)
    return (f"{task.title}: {report.succeeded} succeeded, {report.failed} failed, {report.skipped} skipped; "
            f"{report.diffs_proposed} change(s) proposed.")


async def _run_by_hand(bundle: Bundle, viewer: Viewer, course: Course, acc: Access, given: dict[str, Any] | None,
                       event_call: EventCall) -> tuple[str, tuple[str, ...], Filters]:
    from .agents import all_students, resolve_targets

    manual = [t for t in course.tasks if t.manual]
    if not manual:
        raise DashboardActionError(f"No task of {course.agent.name} can be run by hand (manual = false).")
    task = _task(course, await _ask(event_call, given, "task", _select(
        "Run by hand", "Which task?", [(t.name, t.title) for t in manual])))
    if not task.manual:
        raise DashboardActionError(f"{task.title} has manual = false in the course file: it cannot be run by hand.")
    text = await _ask(event_call, given, "students", _text(
        f"Run {task.title} for", "Email addresses or user ids, separated by commas; or all.", "all"))
    ids, problems = await resolve_targets(str(text or ""), {"id": viewer.id})
    allowed = set(await all_students(task))
    targets = sorted(allowed) if ids is None else ids
    outside = [t for t in targets if t not in allowed]
    if problems or outside or not targets:
        why = problems + ([f"{len(outside)} of them are not students of this task"] if outside else [])
        raise DashboardActionError("Nothing was run: " + ("; ".join(why) or "no student named") + ".")
    await _confirm(event_call, given, f"Run {task.title}", f"Run it now for {len(targets)} student(s)?")
    done = await _run(bundle, task, targets, viewer, "run", f"for {len(targets)} student(s)", course)
    return done, (), Filters()


async def _retry(bundle: Bundle, viewer: Viewer, course: Course, acc: Access, given: dict[str, Any] | None,
                 event_call: EventCall) -> tuple[str, tuple[str, ...], Filters]:
    names = {t.name for t in course.tasks}
    failed = [r for status in (RunStatus.failed, RunStatus.retrying)
              for r in await asyncio.to_thread(_state(bundle).list_runs, status, None, None, 200) if r.task in names]
    failed.sort(key=lambda r: r.claimed_at, reverse=True)
    if not failed:
        raise DashboardActionError("No run of this course failed; there is nothing to retry.")
    people = views.names_of(await sources(bundle).users())
    titles = {t.name: t.title for t in course.tasks}
    run_id = await _ask(event_call, given, "run_id", _select("Retry a failed run", "Which run?", [
        (r.id, f"{titles[r.task]} for {people.get(r.user_id, r.user_id)}, {when(r.claimed_at)}") for r in failed[:30]]))
    run = next((r for r in failed if r.id == run_id), None)
    if run is None:
        raise DashboardActionError("That is not a failed run of this course; nothing was retried.")
    who = people.get(run.user_id, run.user_id)
    await _confirm(event_call, given, "Retry this run", f"Run {titles[run.task]} again now for {who}?")
    done = await _run(bundle, _task(course, run.task), [run.user_id], viewer, "retry", f"run {run.id[:8]} for {who}",
                      course)
    return done, (), Filters()


async def _pause(bundle: Bundle, viewer: Viewer, course: Course, acc: Access, given: dict[str, Any] | None,
                 event_call: EventCall, resume: bool) -> tuple[str, tuple[str, ...], Filters]:
    paused = await asyncio.to_thread(_state(bundle).paused_tasks)
    tasks = [t for t in course.tasks if (t.name in paused) == resume]
    verb = "Resume" if resume else "Pause"
    if not tasks:
        raise DashboardActionError("No task of this course is paused." if resume else "Every task is paused already.")
    task = _task(course, await _ask(event_call, given, "task", _select(f"{verb} a task", "Which task?",
                                                                        [(t.name, t.title) for t in tasks])))
    note = await _ask(event_call, given, "note", _text("Add a note (optional)", "Why? Leave empty to skip.", "Note"))
    note = " ".join(str(note or "").split())[:500]
    await _confirm(event_call, given, f"{verb} {task.title}",
                   "What became due meanwhile runs at the next tick." if resume
                   else "Its triggers keep counting, but no run starts until it is resumed.")
    if resume:
        changed = await asyncio.to_thread(_state(bundle).resume_task, task.name, course.id, viewer.label, note)
    else:
        changed = await asyncio.to_thread(_state(bundle).pause_task, task.name, course.id, viewer.label, note)
    done = f"{task.title} {'resumed' if resume else 'paused'} by {viewer.label}." if changed \
        else f"{task.title} was {'not paused' if resume else 'already paused'}; nothing changed."
    return done, (), Filters()


async def button(bundle: Bundle, sub: str, body: Any, user: dict[str, Any], *, event_call: EventCall = None,
                 event_emitter: Emit = None) -> dict[str, Any]:
    """Run one button; rewrites the viewer's dashboard and returns Open WebUI's action result."""
    viewer = Viewer.of(user)
    course, acc = await dashboard_of(bundle, body, viewer)
    if sub not in DASHBOARD_BUTTONS:
        raise DashboardActionError(f"Unknown button {sub!r}; the dashboard's buttons: {', '.join(DASHBOARD_BUTTONS)}.")
    given = body.get("youlab")
    if given is not None and not isinstance(given, dict):
        raise DashboardActionError('"youlab" must be an object, for example {"task": "grader", "confirm": true}.')
    try:
        if sub in ("pause", "resume"):
            result, extra, filters = await _pause(bundle, viewer, course, acc, given, event_call, sub == "resume")
        else:
            flow = {"refresh": _refresh, "students": _students, "memory": _memory, "run": _run_by_hand,
                    "retry": _retry}[sub]
            result, extra, filters = await flow(bundle, viewer, course, acc, given, event_call)
    except _DialogClosed:
        result, extra, filters = "", (), Filters()
    parts = bundle.parts
    refresher = getattr(parts, "dashboards", None) if parts is not None else None
    if refresher is not None and sub not in ("students", "memory"):
        refresher.soon()  # every viewer's dashboard now: the other viewers see the action (or the fresh figures)
    shown = (f"> {result}",) + extra if result else extra
    data = await views.gather(sources(bundle), viewer, course, acc, filters=filters, extra=shown)
    chat_id, message_id, content = await views.write(sources(bundle), data, force=True)
    if result and event_emitter is not None:
        try:
            await event_emitter({"type": "notification", "data": {"type": "info", "content": result}})
        except Exception:
            log.debug("notification not delivered", exc_info=True)
    return {"messages": [{"id": message_id, "content": content}], "youlab": {"result": result, "chat_id": chat_id}}
