"""The memory view's buttons (docs/memory-view.md): the `youlab_memory` Action's (plugins/youlab_memory.py; `button`
below) and, on the view, the `youlab_review` Action's decisions (review.py hands those to `act`).

  history   pick a field: every change of it with who, when, why and the value before, shown on top of the view;
  undo      pick a field, then undo the agent's approved change or restore any earlier value (a new commit);
  edit      pick a field and type its new value, checked against the course's schema (the student's commit);
  download  all the student's YouLab data as one zip, stored as an Open WebUI file only they can read;
  approve_all / reject_all / review   decide the course's pending changes from the view, including those whose
            thread was archived or deleted.

Every rule is on the server: the chat must exist, be the acting user's, and be registered as that user's memory
view; the field, change or version named must belong to that course and student. API callers state their answer
in the body (`"youlab": {"field": "journey.status", "value": "completed"}`, see the docs page); in the browser the
answers come from Open WebUI's input and confirmation dialogs.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from ..config import Course, FieldType
from ..errors import NotFound, UserFacingError, YoulabError
from ..threads.memory_view import MEMORY_TASK, memory_chat_id
from ..threads.report import Change, value_text, when_text
from . import memory_export
from .memory_fields import (
    MemoryActionError,
    field_history,
    fields_of,
    find_field,
    parse_value,
    render_history,
)
from .memory_view import field_label, refresh
from .review_notice import notice
from .review_request import checked_note, parse_request

if TYPE_CHECKING:
    from .context import Bundle

log = logging.getLogger(__name__)

MEMORY_SUB_ACTIONS = ("history", "undo", "edit", "download")
EventCall = Callable[[dict[str, Any]], Awaitable[Any]] | None
NOT_YOUR_VIEW = "You can only use these buttons in your own memory view."
USE_VIEW = ("This button works in \u201cYour memory\u201d, pinned at the top of your chat list; open it there. "
            "Here, use Approve / Reject / Review for this report's changes.")
NOTICE = "notice"  # the key a flow's data uses to hand act() the student's notice (never sent back)
NO_BROWSER = 'No browser session for the dialogs. API callers pass "youlab": {...} (see docs/memory-view.md).'


async def _ask(event_call: EventCall, event: dict[str, Any]) -> Any:
    from .review import _ask as ask  # one dialog helper for every button

    answer = await ask(event_call, event)
    if isinstance(answer, dict) and "error" in answer:
        raise MemoryActionError(NO_BROWSER)
    return answer


async def memory_view_of(bundle: Bundle, body: Any, user_id: str) -> tuple[Any, Course] | None:
    """(registry record, course) when the body's chat is this user's memory view; None when it is another kind of
    registered chat (a run thread); a refusal for anything else."""
    chat_id = body.get("chat_id") if isinstance(body, dict) else None
    if not isinstance(chat_id, str) or not chat_id.strip():
        raise MemoryActionError('The request needs "chat_id": the id of your memory view (text).')
    chat = await bundle.backend.get_chat(chat_id)
    if chat is None or not user_id or chat.user_id != user_id:
        raise MemoryActionError(NOT_YOUR_VIEW)  # the same answer for "not yours" and "does not exist"
    if bundle.state is None:
        raise MemoryActionError("Your memory cannot be changed right now; try again in a few minutes.")
    record = await asyncio.to_thread(bundle.state.thread, chat_id)
    if record is None or record.user_id != user_id:
        raise MemoryActionError(USE_VIEW)
    if record.task != MEMORY_TASK:
        return None
    if chat_id != memory_chat_id(user_id, record.course_id):  # registered under another id: not the view
        raise MemoryActionError(USE_VIEW)
    try:
        return record, bundle.courses.course(record.course_id)
    except NotFound:
        raise MemoryActionError("This course is no longer offered, so its memory cannot be changed here.") from None


def _given(body: dict[str, Any]) -> dict[str, Any] | None:
    given = body.get("youlab")
    if given is not None and not isinstance(given, dict):
        raise MemoryActionError('"youlab" must be an object, for example {"field": "journey.status"}.')
    return given


async def _pick_field(course: Course, given: dict[str, Any] | None, event_call: EventCall, title: str) -> tuple[str, str, Any, str]:
    if given is not None:
        block, field, spec = find_field(course, given.get("field"))
    else:
        options = [{"label": label, "value": f"{b}.{f}"} for b, f, label in fields_of(course)]
        answer = await _ask(event_call, {"type": "input", "data": {
            "title": title, "message": "Which part of your memory?", "type": "select", "options": options,
            "value": options[0]["value"]}})
        if not isinstance(answer, str) or not answer:
            raise _Cancelled
        block, field, spec = find_field(course, answer)
    return block, field, spec, field_label(course, block, field)


class _Cancelled(YoulabError):
    """The student closed a dialog: nothing is done and the view is shown as it is (control flow, never shown)."""


async def _history(bundle: Bundle, user_id: str, course: Course, given: dict[str, Any] | None,
                   event_call: EventCall, zone: str | None = None) -> tuple[list[str], tuple[str, ...], dict[str, Any]]:
    block, field, _, label = await _pick_field(course, given, event_call, "Show the history of")
    memory = bundle.memory.student(user_id)
    changes = await asyncio.to_thread(field_history, memory, course, block, field)
    return [], (render_history(label, changes, zone),), {"history": [c.as_json() for c in changes]}


async def _undo(bundle: Bundle, user_id: str, course: Course, given: dict[str, Any] | None,
                event_call: EventCall, zone: str | None = None) -> tuple[list[str], tuple[str, ...], dict[str, Any]]:
    block, field, _, label = await _pick_field(course, given, event_call, "Undo a change of")
    memory = bundle.memory.student(user_id)
    changes = await asyncio.to_thread(field_history, memory, course, block, field)
    limit = bundle.settings.review_note_max_chars
    undoable = changes[0] if changes and changes[0].kind == "approve" and not changes[0].undone else None
    if given is not None:
        diff_id, version = given.get("diff_id"), given.get("version")
        note = checked_note(given.get("note"), "youlab.note", limit)
        if given.get("confirm") is not True:
            raise MemoryActionError('Nothing done: pass "youlab": {"confirm": true, ...} to undo.')
    else:
        agent = undoable.by.removesuffix(" (approved by you)") if undoable else ""
        options = ([{"label": f"Undo {agent}'s change you approved: back to \u201c{_cut(undoable.before)}\u201d",
                     "value": f"diff:{undoable.diff_id}"}] if undoable else [])
        options += [{"label": f"Restore \u201c{_cut(c.before)}\u201d (the value before {c.by} changed it on "
                              f"{when_text(c.at, zone)})", "value": f"version:{c.version}~"}
                    for c in changes[1 if undoable else 0:]]
        if not options:
            raise MemoryActionError(f"\u201c{label}\u201d has never changed; there is nothing to undo.")
        answer = await _ask(event_call, {"type": "input", "data": {
            "title": f"Undo a change of \u201c{label}\u201d", "message": "Undo and restore are new changes: your "
            "history keeps everything.", "type": "select", "options": options, "value": options[0]["value"]}})
        if not isinstance(answer, str) or ":" not in answer:
            raise _Cancelled
        kind, _, ref = answer.partition(":")
        diff_id, version = (ref, None) if kind == "diff" else (None, ref)
        typed = await _ask(event_call, {"type": "input", "data": {
            "title": "Add a note (optional)", "message": f"Why? Leave empty to skip. At most {limit:,} characters.",
            "placeholder": "Your note"}})
        if typed is False or typed is None:
            raise _Cancelled
        note = checked_note(typed if isinstance(typed, str) else "", "", limit)
    reviewer = f"student:{user_id}"
    if isinstance(diff_id, str) and diff_id:
        diff = await asyncio.to_thread(_own_diff, memory, diff_id, course, block, field)
        await asyncio.to_thread(memory.undo, diff.id, reviewer=reviewer, note=note, course=course)
        return [f"Undone: \u201c{label}\u201d is back to \u201c{_cut(value_text(diff.current_value))}\u201d."], (), {}
    if not isinstance(version, str) or not version:
        raise MemoryActionError('Name what to undo: "youlab.diff_id" (an approved change) or "youlab.version".')
    earlier = await asyncio.to_thread(_value_before, memory, course, block, field, version, changes)
    message = f"Restore {block}.{field} to an earlier value" + (f"\n\n{note}" if note else "")
    await asyncio.to_thread(memory.write_field, course, block, field, earlier, author=reviewer, message=message)
    return [f"Restored: \u201c{label}\u201d is \u201c{_cut(value_text(earlier))}\u201d again."], (), {}


def _own_diff(memory: Any, diff_id: str, course: Course, block: str, field: str) -> Any:
    try:
        diff = memory.get_diff(diff_id)
    except (NotFound, ValueError, UserFacingError):
        diff = None
    if diff is None or diff.course != course.id or (diff.block, diff.field) != (block, field):
        raise MemoryActionError("That change is not one of this field's changes in your memory; nothing was undone.")
    return diff


def _value_before(memory: Any, course: Course, block: str, field: str, version: str, changes: list[Any]) -> Any:
    """The field's value just before the change `version` ("<sha>~"), or at `version` (a plain commit id); only
    versions in this field's history are accepted."""
    before = version.endswith("~")
    sha = version.rstrip("~")
    found = next((c for c in changes if c.version == sha), None)
    if found is None:
        raise MemoryActionError("That version is not in this field's history; nothing was changed.")
    if not before:
        return memory.read_at(course, block, sha).values[field]
    at = changes.index(found)
    if at + 1 < len(changes):
        return memory.read_at(course, block, changes[at + 1].version).values[field]
    return parse_value(course.field_spec(block, field), found.before, field)  # type: ignore[arg-type]


def _cut(text: str, limit: int = 60) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "\u2026"


async def _edit(bundle: Bundle, user_id: str, course: Course, given: dict[str, Any] | None,
                event_call: EventCall, zone: str | None = None) -> tuple[list[str], tuple[str, ...], dict[str, Any]]:
    block, field, spec, label = await _pick_field(course, given, event_call, "Edit")
    memory = bundle.memory.student(user_id)
    if given is not None:
        if "value" not in given:
            raise MemoryActionError('"youlab.value" must hold the new value (text, or a JSON value of the field\'s type).')
        raw = given["value"]
    else:
        current = await asyncio.to_thread(memory.read_field, course, block, field)
        data: dict[str, Any] = {"title": f"Edit \u201c{label}\u201d", "value": value_text(current)}
        if spec.options is not None:
            data.update(type="select", options=[{"label": str(o), "value": str(o)} for o in spec.options],
                        message="Choose one.")
        elif spec.type is FieldType.list:
            data["message"] = "One item a line." + (f" At most {spec.max:g} items." if spec.max else "")
        elif spec.type is FieldType.bool:
            data.update(type="select", options=[{"label": "Yes", "value": "yes"}, {"label": "No", "value": "no"}],
                        value="yes" if current else "no", message="Yes or no?")
        else:
            data["message"] = {"int": "A whole number.", "float": "A number.", "datetime": "A date, like 2026-11-24.",
                               }.get(spec.type.value, "Your text." + (f" At most {spec.max:g} characters." if spec.max else ""))
        raw = await _ask(event_call, {"type": "input", "data": data})
        if raw is False or raw is None:
            raise _Cancelled
    value = parse_value(spec, raw, f"\u201c{label}\u201d")
    await asyncio.to_thread(memory.write_field, course, block, field, value, author=f"student:{user_id}",
                            message=f"Edit {block}.{field} by hand")
    return [f"Saved: \u201c{label}\u201d is \u201c{_cut(value_text(value))}\u201d."], (), {}


async def _download(bundle: Bundle, user_id: str, course: Course, given: dict[str, Any] | None,
                    event_call: EventCall, zone: str | None = None) -> tuple[list[str], tuple[str, ...], dict[str, Any]]:
    data = await memory_export.build(bundle, user_id)
    name = memory_export.file_name(user_id)
    file_id = await memory_export.FILES.save(user_id, name, data)
    url = f"/api/v1/files/{file_id}/content"
    section = (f"### Your data\n\n[Download {name}]({url}) ({len(data) / 1024:,.0f} KB): your memory in every "
               "course, its whole history, every decision and every run, as JSON and Markdown (the README inside "
               "explains each file). Only you can open this link.")
    return ["Your data is ready: the link is at the top of this view."], (section,), {"file_id": file_id, "url": url}


async def _decide(bundle: Bundle, sub: str, body: dict[str, Any], user_id: str, course: Course,
                  event_call: EventCall) -> tuple[list[str], tuple[str, ...], dict[str, Any]]:
    """Approve / reject from the view: the course's pending changes, whatever thread they were shown in."""
    from .review import _decide as decide_one
    from .review import _decisions

    limit = bundle.settings.review_note_max_chars
    req = parse_request(sub, body, limit)
    memory = bundle.memory.student(user_id)
    pending = await asyncio.to_thread(memory.list_diffs, "pending", None, course.id)
    changes = [Change(d.id, field_label(course, d.block, d.field), value_text(d.current_value),
                      value_text(d.proposed_value)) for d in sorted(pending, key=lambda d: (d.created_at, d.id))]
    labels = {c.diff_id: c.target for c in changes}  # the view's changes are named by label already
    decided = await _decisions(req, changes, event_call, limit, labels)
    ids = {c.diff_id for c in changes}
    unknown = [d.diff_id for d in decided if d.diff_id not in ids]
    if unknown:
        raise MemoryActionError(f"change {unknown[0]} is not waiting for you in this course; nothing was decided.")
    outcomes = [await decide_one(memory, d, user_id) for d in decided]
    return [o.line for o in outcomes], (), {NOTICE: notice(outcomes, labels)}


async def act(bundle: Bundle, sub: str, body: Any, user: dict[str, Any], *, event_call: EventCall = None,
              event_emitter: Callable[[dict[str, Any]], Awaitable[Any]] | None = None,
              found: tuple[Any, Course] | None = None) -> dict[str, Any]:
    """Run one sub-action on the memory view; refreshes the view and returns Open WebUI's action result."""
    user_id = str((user if isinstance(user, dict) else {}).get("id") or "")
    found = found or await memory_view_of(bundle, body, user_id)
    if found is None:
        raise MemoryActionError(USE_VIEW)
    record, course = found
    given = _given(body) if sub in MEMORY_SUB_ACTIONS else None
    zone = (user if isinstance(user, dict) else {}).get("timezone")  # Open WebUI's user.timezone (the browser's)
    zone = zone if isinstance(zone, str) and zone else None
    flow = {"history": _history, "undo": _undo, "edit": _edit, "download": _download}.get(sub)
    try:
        if flow is not None:
            results, extra, data = await flow(bundle, user_id, course, given, event_call, zone)
        else:
            results, extra, data = await _decide(bundle, sub, body, user_id, course, event_call)
    except _Cancelled:
        results, extra, data = [], (), {}
    except UserFacingError:
        raise
    chat_id, message_id, content = await refresh(bundle, user_id, course, extra, zone)
    shown = data.pop(NOTICE, None) or " ".join(results)  # a decision's notice in plain words; the others already are
    if event_emitter is not None and results:
        try:
            await event_emitter({"type": "notification", "data": {"type": "info", "content": shown}})
        except Exception:
            log.debug("notification not delivered", exc_info=True)
    return {"messages": [{"id": message_id, "content": content}], "youlab": {"results": results, **data}}


async def button(bundle: Bundle, sub: str, body: Any, user: dict[str, Any], *, event_call: EventCall = None,
                 event_emitter: Callable[[dict[str, Any]], Awaitable[Any]] | None = None) -> dict[str, Any]:
    """The `youlab_memory` Action: history, undo, edit or download. Raises `UserFacingError` only: a refusal or a
    wrong input in its own words, or the review's SAVE_FAILED sentence (the detail goes to the log)."""
    from .review_notice import SAVE_FAILED

    if sub not in MEMORY_SUB_ACTIONS:
        raise MemoryActionError(f"Unknown button {sub!r} of \u201cYour memory\u201d (known: {', '.join(MEMORY_SUB_ACTIONS)}).")
    try:
        return await act(bundle, sub, body, user, event_call=event_call, event_emitter=event_emitter)
    except UserFacingError:
        raise
    except Exception as exc:
        chat_id = body.get("chat_id") if isinstance(body, dict) else None
        log.exception("memory button %r of chat %r by user %s failed", sub, chat_id, (user or {}).get("id"))
        raise MemoryActionError(SAVE_FAILED) from exc
