"""What a review request asks for, checked field by field (youlab_core/bundle/review.py acts on it).

The Action receives `body` from the client, so any field can be anything: each wrong type or missing field is
refused with a sentence naming the field and what it must be, never with Python exception text. Notes are capped
at `Settings.review_note_max_chars` (a longer note is refused, saying the limit, and nothing is decided).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..errors import UserFacingError

SUB_ACTIONS = ("approve_all", "reject_all", "review")
VERBS = ("approve", "reject")
PAST = {"approve": "approved", "reject": "rejected"}  # "rejectd" is not a word
DECISIONS_SHAPE = '{"diff_id": "...", "decision": "approve" or "reject", "note": "optional"}'


class ReviewError(UserFacingError):
    """A refusal the student sees (the plugin raises its text out of the action as a plain Exception)."""


@dataclass(frozen=True)
class Decision:
    diff_id: str
    verb: str  # "approve" | "reject"
    note: str


@dataclass(frozen=True)
class ReviewRequest:
    """`given` is None for a browser request (the dialogs ask); otherwise what the API caller stated."""

    sub: str
    chat_id: str
    message_id: str | None
    given: bool
    confirm: bool = False
    note: str = ""
    decisions: tuple[Decision, ...] = ()


def checked_note(value: Any, where: str, limit: int) -> str:
    """A note as text (missing: empty), refused when it is not text or longer than `limit` characters.
    `where`: the body field it came from ("" for a note typed into a dialog)."""
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ReviewError(f'"{where}" must be text.')
    note = value.strip()
    if len(note) > limit:
        named = f" ({where})" if where else ""
        raise ReviewError(f"The note{named} has {len(note):,} characters; a note can have at most {limit:,}. "
                          "Nothing was decided.")
    return note


def _decision(item: Any, index: int, limit: int) -> Decision:
    where = f"youlab.decisions[{index}]"
    if not isinstance(item, dict):
        raise ReviewError(f'"{where}" must be an object: {DECISIONS_SHAPE}.')
    diff_id = item.get("diff_id")
    if not isinstance(diff_id, str) or not diff_id.strip():
        raise ReviewError(f'"{where}.diff_id" must be the id of a change in this report (text).')
    verb = item.get("decision")
    if verb not in VERBS:
        raise ReviewError(f'"{where}.decision" must be "approve" or "reject".')
    return Decision(diff_id.strip(), str(verb), checked_note(item.get("note"), f"{where}.note", limit))


def parse_request(sub: Any, body: Any, note_limit: int) -> ReviewRequest:
    """Check the request before anything is read or decided. Raises `ReviewError` naming the wrong field."""
    if sub not in SUB_ACTIONS:
        raise ReviewError(f"Unknown review action {sub!r} (known: {', '.join(SUB_ACTIONS)}).")
    if not isinstance(body, dict):
        raise ReviewError("The review request must be a JSON object.")
    chat_id = body.get("chat_id")
    if not isinstance(chat_id, str) or not chat_id.strip():
        raise ReviewError('The review request needs "chat_id": the id of your agent thread (text).')
    message_id = body.get("id")
    if message_id is not None and not isinstance(message_id, str):
        raise ReviewError('"id" must be the id of the agent\'s report message (text).')
    given = body.get("youlab")
    if given is None:
        return ReviewRequest(str(sub), chat_id.strip(), message_id or None, given=False)
    if not isinstance(given, dict):
        raise ReviewError('"youlab" must be an object, e.g. {"confirm": true} or {"decisions": [...]}.')
    if sub in ("approve_all", "reject_all"):
        confirm = given.get("confirm")
        if confirm is not None and not isinstance(confirm, bool):
            raise ReviewError('"youlab.confirm" must be true or false.')
        return ReviewRequest(str(sub), chat_id.strip(), message_id or None, given=True, confirm=confirm is True,
                             note=checked_note(given.get("note"), "youlab.note", note_limit))
    items = given.get("decisions")
    if not isinstance(items, list):
        raise ReviewError(f'"youlab.decisions" must be a list of {DECISIONS_SHAPE}.')
    decisions = tuple(_decision(item, i, note_limit) for i, item in enumerate(items))
    seen: set[str] = set()
    for d in decisions:
        if d.diff_id in seen:
            raise ReviewError(f'"youlab.decisions" names change {d.diff_id} twice; decide each change once.')
        seen.add(d.diff_id)
    return ReviewRequest(str(sub), chat_id.strip(), message_id or None, given=True, decisions=decisions)
