"""Approve and reject (plugins/youlab_review.py is the thin shell).

Buttons under an agent's report (sub-actions of the `youlab_review` Action):
  approve_all  confirm, optional note, approve every pending change of the report;
  reject_all   the same, rejecting;
  review       one dialog per pending change: approve / reject / decide later, then an optional note.
In the browser the questions are Open WebUI's event-call dialogs. API callers have no browser session (the dialog
call answers with an error), so they state their decision in the body: `"youlab": {"confirm": true, "note": "..."}`
or `"youlab": {"decisions": [{"diff_id": "...", "decision": "approve" | "reject", "note": "..."}]}`.

Only the chat's owner may act, and only on diffs of their own memory that this report proposed. The memory store is
the source of truth for each change's status; the report message is re-rendered from it after every decision.

What the student reads: a `UserFacingError`'s own words (a refusal, a stale or already decided change); any other
failure is logged with its detail and shown as `SAVE_FAILED`, never as Python exception text.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from ..errors import NotFound, PermissionDenied, UserFacingError
from ..threads.report import Change, ThreadReport, render_diff
from .context import Bundle

log = logging.getLogger(__name__)

EventCall = Callable[[dict[str, Any]], Awaitable[Any]] | None
SUB_ACTIONS = ("approve_all", "reject_all", "review")
SAVE_FAILED = "The change could not be saved; try again later."


class ReviewError(UserFacingError):
    """A refusal the student sees (the plugin raises its text out of the action as a plain Exception)."""


def _no_browser(answer: Any) -> bool:
    return isinstance(answer, dict) and "error" in answer


async def _ask(event_call: EventCall, event: dict[str, Any]) -> Any:
    if event_call is None:
        return {"error": "no browser session"}
    try:
        return await event_call(event)
    except Exception as exc:  # a dialog that could not be shown is the same as no browser
        log.debug("event call failed", exc_info=True)
        return {"error": str(exc)}


def _status_value(diff: Any) -> str:
    status = getattr(diff, "status", "pending")
    return str(getattr(status, "value", status))


async def _load(bundle: Bundle, body: dict[str, Any], user: dict[str, Any]) -> tuple[str, str, ThreadReport, Any]:
    chat_id = str(body.get("chat_id") or "")
    user_id = str((user or {}).get("id") or "")
    chat = await bundle.backend.get_chat(chat_id) if chat_id else None
    if chat is None or chat.user_id != user_id:
        # Same answer for "not yours" and "does not exist": no hint about other students' chats.
        raise ReviewError("You can only review changes an agent proposed for you, in your own agent threads.")
    try:
        _, report, message_id = await bundle.writer.load_report(chat_id)
    except LookupError:
        raise ReviewError("This chat holds no agent report to review.") from None
    if body.get("id") and body["id"] != message_id:
        raise ReviewError("Use the buttons under the agent's report.")
    course = bundle.courses.courses.get(report.course)
    memory = bundle.memory.student(user_id)
    return chat_id, message_id, report, (memory, course)


def _fresh_statuses(memory: Any, user_id: str, report: ThreadReport) -> dict[str, tuple[str, str]]:
    out: dict[str, tuple[str, str]] = {}
    for change in report.changes:
        try:
            diff = memory.get_diff(change.diff_id)
        except NotFound:
            out[change.diff_id] = ("expired", change.note)
            continue
        if getattr(diff, "user_id", user_id) != user_id:
            raise PermissionDenied(f"change {change.diff_id} does not belong to you")
        out[change.diff_id] = (_status_value(diff), getattr(diff, "review_note", "") or change.note)
    return out


async def _decisions(sub: str, body: dict[str, Any], pending: list[Change], event_call: EventCall) -> list[tuple[str, str, str]]:
    """[(diff_id, "approve"|"reject", note)] from the API body or the browser dialogs ([] = nothing decided)."""
    given = body.get("youlab") if isinstance(body.get("youlab"), dict) else None
    if sub in ("approve_all", "reject_all"):
        verb = "approve" if sub == "approve_all" else "reject"
        if given is not None:
            if given.get("confirm") is not True:
                raise ReviewError('Nothing done: pass "youlab": {"confirm": true} to decide every pending change.')
            return [(c.diff_id, verb, str(given.get("note") or "")) for c in pending]
        listing = "\n".join(f"- `{c.target}` (`{c.diff_id}`)" for c in pending)
        answer = await _ask(event_call, {"type": "confirmation", "data": {
            "title": f"{verb.capitalize()} {len(pending)} change{'s' if len(pending) != 1 else ''}?",
            "message": f"{listing}\n\n" + ("Approved changes are written to your memory." if verb == "approve"
                                           else "Rejected changes are recorded and not applied."),
        }})
        if _no_browser(answer):
            raise ReviewError('No browser session to confirm with. API callers pass "youlab": {"confirm": true}.')
        if answer is not True:
            return []
        note = await _ask(event_call, {"type": "input", "data": {
            "title": "Add a note (optional)", "message": "Why? Leave empty to skip.", "placeholder": "Your note",
        }})
        note_text = note if isinstance(note, str) else ""
        return [(c.diff_id, verb, note_text.strip()) for c in pending]

    # review: one change at a time
    if given is not None:
        out = []
        for item in given.get("decisions") or []:
            diff_id, verb = str(item.get("diff_id", "")), str(item.get("decision", ""))
            if verb not in ("approve", "reject"):
                raise ReviewError(f"decision for {diff_id} must be 'approve' or 'reject', not {verb!r}")
            out.append((diff_id, verb, str(item.get("note") or "")))
        return out
    out = []
    for i, change in enumerate(pending, 1):
        answer = await _ask(event_call, {"type": "input", "data": {
            "title": f"Change {i} of {len(pending)}: {change.target}",
            "message": render_diff(change.before, change.after),
            "type": "select",
            "options": [
                {"label": "Approve", "value": "approve"},
                {"label": "Reject", "value": "reject"},
                {"label": "Decide later", "value": "skip"},
            ],
            "value": "approve",
        }})
        if _no_browser(answer):
            raise ReviewError('No browser session for the dialogs. API callers pass "youlab": {"decisions": [...]}.')
        if answer is False or answer is None:
            break  # cancelled: stop asking, keep what was decided so far
        if answer not in ("approve", "reject"):
            continue
        note = await _ask(event_call, {"type": "input", "data": {
            "title": "Add a note (optional)", "message": f"{answer.capitalize()} `{change.target}`.", "placeholder": "Your note",
        }})
        out.append((change.diff_id, answer, (note if isinstance(note, str) else "").strip()))
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
        log.exception("review %r of chat %s by user %s failed", sub, body.get("chat_id"), (user or {}).get("id"))
        raise ReviewError(SAVE_FAILED) from exc


async def _review(
    bundle: Bundle, sub: str, body: dict[str, Any], user: dict[str, Any], *, event_call: EventCall,
    event_emitter: Callable[[dict[str, Any]], Awaitable[Any]] | None,
) -> dict[str, Any] | None:
    if sub not in SUB_ACTIONS:
        raise ReviewError(f"unknown review action {sub!r} (known: {', '.join(SUB_ACTIONS)})")
    chat_id, message_id, report, (memory, course) = await _load(bundle, body, user)
    user_id = str(user["id"])
    statuses = await asyncio.to_thread(_fresh_statuses, memory, user_id, report)
    report = report.with_decisions(statuses)
    pending = report.pending
    explicit = sub == "review" and isinstance(body.get("youlab"), dict)
    decided = await _decisions(sub, body, pending, event_call) if pending or explicit else []
    known = {c.diff_id for c in report.changes}
    results: list[str] = []
    for diff_id, verb, note in decided:
        if diff_id not in known:
            raise ReviewError(f"change {diff_id} is not part of this report")
        current = statuses.get(diff_id, ("pending", ""))[0]
        if current != "pending":
            results.append(f"`{diff_id}` was already {current}; nothing done.")
            continue
        try:
            if verb == "approve":
                await asyncio.to_thread(memory.approve, diff_id, reviewer=f"student:{user_id}", note=note)
            else:
                await asyncio.to_thread(memory.reject, diff_id, reviewer=f"student:{user_id}", note=note)
            results.append(f"`{diff_id}` {verb}d.")
        except UserFacingError as exc:  # stale, already decided, ...: the reason is written for the student
            results.append(f"`{diff_id}` was not {verb}d: {exc}")
        except Exception:  # the next change may still go through; the report shows what was saved
            log.exception("%s of change %s for user %s failed", verb, diff_id, user_id)
            results.append(f"`{diff_id}`: {SAVE_FAILED}")
    statuses = await asyncio.to_thread(_fresh_statuses, memory, user_id, report)
    message_id, content = await bundle.writer.rerender(chat_id, statuses)
    if event_emitter is not None and results:
        try:
            await event_emitter({"type": "notification", "data": {"type": "info", "content": " ".join(results)}})
        except Exception:
            log.debug("notification not delivered", exc_info=True)
    return {"messages": [{"id": message_id, "content": content}], "youlab": {"results": results, "statuses": {
        k: v[0] for k, v in statuses.items()}}}
