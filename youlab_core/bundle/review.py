"""Approve and reject (plugins/youlab_review.py is the thin shell).

Buttons under an agent's report (sub-actions of the `youlab_review` Action):
  approve_all  confirm, optional note, approve every pending change of the report;
  reject_all   the same, rejecting;
  review       one dialog per pending change: approve / reject / decide later, then an optional note.
On the student's memory view the same buttons decide the course's pending changes (memory_actions.py); history /
undo / edit / download are the view's own Action, `youlab_memory` (plugins/youlab_memory.py).
In the browser the questions are Open WebUI's event-call dialogs. API callers have no browser session (the dialog
call answers with an error), so they state their decision in the body: `"youlab": {"confirm": true, "note": "..."}`
or `"youlab": {"decisions": [{"diff_id": "...", "decision": "approve" | "reject", "note": "..."}]}`
(review_request.py checks every field first).

What the review trusts: only the server. The thread registry says which run, task, course and student a chat is
(a chat that is not a registered thread of this student gets a plain refusal: a copy made by Open WebUI's
clone/import, or someone else's chat, which gets the same answer as a missing one). The memory store holds each
change: the report's changes are the student's diffs of that run, plus diffs of earlier runs of the same agent
that were still pending when the thread was written (a run shows an identical pending change again rather than
proposing it twice; the view's ids are only candidates for those, each checked against the store). The chat JSON's
report data is a view: after every review it is rebuilt from the server's records and written back, so an edited
view is restored.

What the student reads: a `UserFacingError`'s own words (a refusal, a stale or already decided change); any other
failure is logged with its detail and shown as `SAVE_FAILED`, never as Python exception text.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from ..errors import NotFound, UserFacingError, YoulabError
from ..threads.model import REPORT_KEY, ChatRecord, agent_model_id
from ..threads.report import Change, ThreadReport, plain_problem, render_diff, render_report, report_from_server
from ..threads.memory_view import MEMORY_TASK
from . import memory_actions
from .context import Bundle
from .memory_view import field_label, refresh_quietly
from .review_notice import SAVE_FAILED, Outcome, notice
from .review_request import SUB_ACTIONS, Decision, ReviewError, ReviewRequest, checked_note, parse_request

if TYPE_CHECKING:
    from ..state import ThreadRecord

__all__ = ["SAVE_FAILED", "SUB_ACTIONS", "ReviewError", "review"]

log = logging.getLogger(__name__)

EventCall = Callable[[dict[str, Any]], Awaitable[Any]] | None
NOT_YOURS = "You can only review changes an agent proposed for you, in your own agent threads."
COPY = "This is a copy of an agent report; decide its changes in the agent's own thread."
NO_REPORT = "This chat holds no agent report to review."
UNAVAILABLE = "Reviews are not available right now; try again in a few minutes."
BUTTONS = SUB_ACTIONS  # every button of the Action, in plugins/youlab_review.py's order


@dataclass(frozen=True)
class Thread:
    """A registered agent thread of the acting student, as the server knows it."""

    chat: ChatRecord
    record: ThreadRecord
    message_id: str  # the report message the view is written into
    memory: Any  # the student's StudentMemory


def _no_browser(answer: Any) -> bool:
    return isinstance(answer, dict) and "error" in answer


# Open WebUI 0.12.4 (socket/main.py get_event_call) re-sends an unanswered input or confirmation dialog to the same
# user's next tab that opens the chat within 60 s after the asking tab closed, unless the dialog's data names a
# `session_id`. Naming it keeps a dialog to the tab that asked: an abandoned "Review each change" does not come back
# on the next page load; the call answers "disconnected" at once and the review stops (docs/memory-view.md).
THIS_TAB_ONLY = {"session_id": None}


async def _ask(event_call: EventCall, event: dict[str, Any]) -> Any:
    if event_call is None:
        return {"error": "no browser session"}
    if event.get("type") in ("input", "confirmation"):
        event = {**event, "data": {**(event.get("data") or {}), **THIS_TAB_ONLY}}
    try:
        return await event_call(event)
    except Exception as exc:  # a dialog that could not be shown is the same as no browser
        log.debug("event call failed", exc_info=True)
        return {"error": str(exc)}


def confirmed(answer: Any) -> bool:
    """Whether a confirmation dialog was confirmed. Open WebUI 0.12.4 answers Confirm with `true`, except in a tab
    that showed an input dialog before: then with that dialog's leftover value, a string (Chat.svelte passes the
    dialog's input value through). Cancel answers `false`; no browser, an error object."""
    return answer is True or isinstance(answer, str)


def _looks_like_report(chat: ChatRecord) -> bool:
    # Not the agent's messages alone: an admin's own manual-run chat has those, and holds no report.
    return isinstance(chat.chat.get(REPORT_KEY), dict) or chat.youlab_meta is not None


def _report_message(chat: ChatRecord, task: str, asked: str | None) -> str:
    """The id of the agent's report message: only where the view is written, never a source of what it says."""
    history = chat.chat.get("history") if isinstance(chat.chat, dict) else None
    messages = history.get("messages") if isinstance(history, dict) else None
    model = agent_model_id(task)
    found = sorted(
        (m.get("timestamp") if isinstance(m.get("timestamp"), int | float) else 0, mid)
        for mid, m in (messages.items() if isinstance(messages, dict) else ())
        if isinstance(m, dict) and m.get("role") == "assistant" and m.get("model") == model
    )
    ids = [mid for _, mid in found]
    if asked is not None and asked not in ids:
        raise ReviewError("Use the buttons under the agent's report.")
    if asked is not None:
        return asked
    if not ids:
        raise ReviewError(NO_REPORT)
    return ids[0]


async def _thread(bundle: Bundle, req: ReviewRequest, user_id: str) -> Thread:
    chat = await bundle.backend.get_chat(req.chat_id)
    if chat is None or not user_id or chat.user_id != user_id:
        raise ReviewError(NOT_YOURS)  # the same answer for "not yours" and "does not exist": no hint either way
    state = bundle.state
    if state is None:
        raise ReviewError(UNAVAILABLE)
    try:
        record = await asyncio.to_thread(state.thread, req.chat_id)
    except Exception:
        log.exception("review: the thread registry could not be read for chat %s", req.chat_id)
        raise ReviewError(UNAVAILABLE) from None
    if record is None or record.user_id != user_id:
        raise ReviewError(COPY if _looks_like_report(chat) else NO_REPORT)
    message_id = _report_message(chat, record.task, req.message_id)
    return Thread(chat, record, message_id, bundle.memory.student(user_id))


def _view_ids(chat: ChatRecord) -> list[str]:
    """Diff ids the view lists: candidates for changes shown again, each checked against the memory store."""
    data = chat.chat.get(REPORT_KEY)
    changes = data.get("changes") if isinstance(data, dict) else None
    return [c["diff_id"] for c in changes or [] if isinstance(c, dict) and isinstance(c.get("diff_id"), str)] \
        if isinstance(changes, list) else []


def _shown_again(diff: Any, record: ThreadRecord) -> bool:
    """A diff of an earlier run of this agent for this student and course, still pending when the thread was written."""
    try:
        return (diff.user_id == record.user_id and diff.agent == record.task and diff.course == record.course_id
                and diff.created_at <= record.created_at
                and (diff.reviewed_at is None or diff.reviewed_at >= record.created_at))
    except TypeError:  # a diff time without a zone cannot be placed against the thread's
        return False


def _true_diffs(memory: Any, record: ThreadRecord, candidates: list[str], order: list[str]) -> list[Any]:
    """The diffs the thread shows, from the memory store (blocking: call in a thread)."""
    found = [d for d in memory.list_diffs(agent=record.task, course=record.course_id)
             if record.run_id and d.run_id == record.run_id and d.user_id == record.user_id]
    seen = {d.id for d in found}
    for diff_id in candidates:
        if diff_id in seen:
            continue
        try:
            diff = memory.get_diff(diff_id)
        except (NotFound, YoulabError, ValueError):  # not this student's, not a diff id at all, ...
            continue
        if _shown_again(diff, record):
            found.append(diff)
            seen.add(diff.id)
    rank = {target: i for i, target in enumerate(order)}
    return sorted(found, key=lambda d: (rank.get(d.target, len(rank)), d.created_at.timestamp(), d.id))


def _run_problems(state: Any, run_id: str | None) -> list[str]:
    """Plain words for a run that failed (the technical error stays in the run record and the log)."""
    get_run = getattr(state, "get_run", None)
    run = get_run(run_id) if run_id and callable(get_run) else None
    if run is not None and run.status in ("failed", "retrying") and run.error:
        return [plain_problem(str(run.error))]
    return []


async def _truth(bundle: Bundle, thread: Thread) -> ThreadReport:
    """The thread's report rebuilt from the registry, the memory store and the run record; nothing from the chat."""
    record = thread.record
    try:
        order = [q.target for q in bundle.find_task(record.task)[1].queries]
    except NotFound:  # the task left the configuration: the diffs still show, oldest first
        order = []
    diffs = await asyncio.to_thread(_true_diffs, thread.memory, record, _view_ids(thread.chat), order)
    try:
        problems = await asyncio.to_thread(_run_problems, bundle.state, record.run_id)
    except Exception:  # the report still shows every change; the run record is only for the problems line
        log.warning("review: run record %s could not be read", record.run_id, exc_info=True)
        problems = []
    created: datetime = record.created_at
    return report_from_server(task=record.task, agent=bundle.agent_name(record.task) or record.task,
                              course=record.course_id, run_id=record.run_id or "", created_at=created,
                              diffs=diffs, problems=problems, narrative=record.narrative)


async def _write_view(bundle: Bundle, thread: Thread, report: ThreadReport) -> str:
    """Write the server's report over the chat's view (message content and report data). Returns the content."""
    content = render_report(report)
    history = thread.chat.chat.get("history")
    messages = history.get("messages") if isinstance(history, dict) else None
    old = messages.get(thread.message_id) if isinstance(messages, dict) else None
    message = {**(old if isinstance(old, dict) else {}), "id": thread.message_id, "content": content, "role": "assistant"}
    listed = thread.chat.chat.get("messages")
    await bundle.backend.update_chat_json(thread.chat.id, {
        "history": {"messages": {thread.message_id: message}},
        "messages": [{**m, "content": content} if isinstance(m, dict) and m.get("id") == thread.message_id else m
                     for m in (listed if isinstance(listed, list) else [])],
        REPORT_KEY: {**report.to_dict(), "message_id": thread.message_id},
    })
    return content


def labels_of(bundle: Bundle, course_id: str, changes: list[Change]) -> dict[str, str]:
    """diff id -> what the student reads for its field ("<block title>: <field description>"), from course.toml."""
    try:
        course = bundle.courses.course(course_id)
    except NotFound:  # the course left the configuration: its keys are all there is
        return {c.diff_id: c.target for c in changes}
    return {c.diff_id: field_label(course, *c.target.split(".", 1)) if "." in c.target else c.target
            for c in changes}


async def _decisions(req: ReviewRequest, pending: list[Change], event_call: EventCall, limit: int,
                     labels: dict[str, str] | None = None) -> list[Decision]:
    """The decisions from the API body or the browser dialogs ([] = nothing decided). `labels`: what the dialogs
    call each change (its target when missing)."""
    named = labels or {}
    if req.sub in ("approve_all", "reject_all"):
        verb = "approve" if req.sub == "approve_all" else "reject"
        if req.given:
            if not req.confirm:
                raise ReviewError('Nothing done: pass "youlab": {"confirm": true} to decide every pending change.')
            return [Decision(c.diff_id, verb, req.note) for c in pending]
        if not pending:
            return []
        listing = "\n".join(f"- {named.get(c.diff_id, c.target)}" for c in pending)
        answer = await _ask(event_call, {"type": "confirmation", "data": {
            "title": f"{verb.capitalize()} {len(pending)} change{'s' if len(pending) != 1 else ''}?",
            "message": f"{listing}\n\n" + ("Approved changes are written to your memory." if verb == "approve"
                                           else "Rejected changes are recorded and not applied."),
        }})
        if _no_browser(answer):
            raise ReviewError('No browser session to confirm with. API callers pass "youlab": {"confirm": true}.')
        if not confirmed(answer):
            return []
        note = await _ask(event_call, {"type": "input", "data": {
            "title": "Add a note (optional)", "message": f"Why? Leave empty to skip. At most {limit:,} characters.",
            "placeholder": "Your note",
        }})
        note_text = checked_note(note if isinstance(note, str) else "", "", limit)
        return [Decision(c.diff_id, verb, note_text) for c in pending]

    # review: one change at a time
    if req.given:
        return list(req.decisions)
    out: list[Decision] = []
    for i, change in enumerate(pending, 1):
        answer = await _ask(event_call, {"type": "input", "data": {
            "title": f"Change {i} of {len(pending)}: {named.get(change.diff_id, change.target)}",
            "message": render_diff(change.before, change.after),
            "type": "select",
            "options": [
                {"label": "Approve", "value": "approve"},
                {"label": "Reject", "value": "reject"},
                {"label": "Decide later", "value": "skip"},
            ],
            "value": "approve",
        }})
        if _no_browser(answer) and i == 1:
            raise ReviewError('No browser session for the dialogs. API callers pass "youlab": {"decisions": [...]}.')
        if answer is False or answer is None or _no_browser(answer):
            break  # cancelled, or the tab closed: stop asking, keep what was decided so far
        if answer not in ("approve", "reject"):
            continue
        note = await _ask(event_call, {"type": "input", "data": {
            "title": "Add a note (optional)",
            "message": f"{answer.capitalize()} \u201c{named.get(change.diff_id, change.target)}\u201d. "
                       f"At most {limit:,} characters.",
            "placeholder": "Your note",
        }})
        out.append(Decision(change.diff_id, answer, checked_note(note if isinstance(note, str) else "", "", limit)))
    return out


async def review(
    bundle: Bundle, sub: str, body: dict[str, Any], user: dict[str, Any], *, event_call: EventCall = None,
    event_emitter: Callable[[dict[str, Any]], Awaitable[Any]] | None = None,
) -> dict[str, Any] | None:
    """Run one review sub-action. Raises `UserFacingError` only: a refusal in its own words, or `SAVE_FAILED`."""
    try:
        return await _review(bundle, sub, body, user, event_call=event_call, event_emitter=event_emitter)
    except UserFacingError:
        raise
    except Exception as exc:
        chat_id = body.get("chat_id") if isinstance(body, dict) else None
        log.exception("review %r of chat %r by user %s failed", sub, chat_id, (user or {}).get("id"))
        raise ReviewError(SAVE_FAILED) from exc


async def _is_memory_view(bundle: Bundle, body: Any, user_id: str) -> bool:
    """Whether the body's chat is this student's registered memory view (its buttons act on the whole course)."""
    chat_id = body.get("chat_id") if isinstance(body, dict) else None
    if not isinstance(chat_id, str) or bundle.state is None or not user_id:
        return False
    try:
        record = await asyncio.to_thread(bundle.state.thread, chat_id.strip())
    except Exception:  # the review's own check says what is wrong
        return False
    return record is not None and record.task == MEMORY_TASK and record.user_id == user_id


async def _decide(memory: Any, decision: Decision, user_id: str) -> Outcome:
    """Apply one decision; what happened."""
    act = memory.approve if decision.verb == "approve" else memory.reject
    try:
        await asyncio.to_thread(act, decision.diff_id, reviewer=f"student:{user_id}", note=decision.note)
        return Outcome(decision.diff_id, decision.verb, "done")
    except UserFacingError as exc:  # stale, already decided, ...: the reason is written for the student
        return Outcome(decision.diff_id, decision.verb, "refused", str(exc))
    except Exception:  # the next change may still go through; the report shows what was saved
        log.exception("%s of change %s for user %s failed", decision.verb, decision.diff_id, user_id)
        return Outcome(decision.diff_id, decision.verb, "failed")


async def _review(
    bundle: Bundle, sub: str, body: dict[str, Any], user: dict[str, Any], *, event_call: EventCall,
    event_emitter: Callable[[dict[str, Any]], Awaitable[Any]] | None,
) -> dict[str, Any] | None:
    if sub not in BUTTONS:
        raise ReviewError(f"Unknown review action {sub!r} (known: {', '.join(BUTTONS)}).")
    limit = bundle.settings.review_note_max_chars
    user_id = str((user if isinstance(user, dict) else {}).get("id") or "")
    if await _is_memory_view(bundle, body, user_id):
        return await memory_actions.act(bundle, sub, body, user, event_call=event_call, event_emitter=event_emitter)
    req = parse_request(sub, body, limit)
    thread = await _thread(bundle, req, user_id)
    report = await _truth(bundle, thread)
    labels = labels_of(bundle, thread.record.course_id, list(report.changes))
    decided = await _decisions(req, report.pending, event_call, limit, labels)
    statuses = {c.diff_id: c.status for c in report.changes}
    unknown = [d.diff_id for d in decided if d.diff_id not in statuses]
    if unknown:  # checked before anything is decided: a request is applied whole or not at all
        raise ReviewError(f"change {unknown[0]} is not part of this report; nothing was decided.")
    outcomes: list[Outcome] = []
    for decision in decided:
        if statuses[decision.diff_id] != "pending":
            outcomes.append(Outcome(decision.diff_id, decision.verb, "already", statuses[decision.diff_id]))
            continue
        outcomes.append(await _decide(thread.memory, decision, user_id))
    results = [o.line for o in outcomes]
    if decided:
        report = await _truth(bundle, thread)
    content = await _write_view(bundle, thread, report)
    if decided:  # the student's memory view shows the same changes: keep it current
        await refresh_quietly(bundle, user_id, thread.record.course_id)
    if event_emitter is not None and results:
        try:
            await event_emitter({"type": "notification", "data": {"type": "info", "content": notice(outcomes, labels)}})
        except Exception:
            log.debug("notification not delivered", exc_info=True)
    return {"messages": [{"id": thread.message_id, "content": content}], "youlab": {
        "results": results, "statuses": {c.diff_id: c.status for c in report.changes}}}
