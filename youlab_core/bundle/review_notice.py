"""What a decision did, in two forms (review.py, memory_actions.py): a line per change for API callers
(`youlab.results`, with the change's id, which a script needs), and the notice the student reads after Approve /
Reject / Review each, in plain words: the fields by title and description, never an id.

  "2 changes approved: “Your essay: The essay topic the student chose”, “Your essay: Colleges on the list”."
  "1 change approved: “…”. “…” was not rejected: it was already approved by you on Nov 26, 2026."
"""

from __future__ import annotations

from dataclasses import dataclass

from .review_request import PAST

SAVE_FAILED = "The change could not be saved; try again later."


@dataclass(frozen=True)
class Outcome:
    """One decision's result. `state`: done, refused (the memory store said why: stale, already decided), failed
    (an unexpected error: logged), already (the report showed it decided before anything was asked)."""

    diff_id: str
    verb: str  # approve | reject
    state: str
    detail: str = ""  # refused: the store's reason; already: the status it had

    @property
    def line(self) -> str:
        """The API caller's line (`youlab.results`): names the change by id."""
        past = PAST[self.verb]
        if self.state == "done":
            return f"`{self.diff_id}` {past}."
        if self.state == "already":
            return f"`{self.diff_id}` was already {self.detail}; nothing done."
        if self.state == "refused":
            return f"`{self.diff_id}` was not {past}: {self.detail}"
        return f"`{self.diff_id}`: {SAVE_FAILED}"


def _quoted(labels: list[str]) -> str:
    return ", ".join(f"\u201c{label}\u201d" for label in labels)


def _sentence(text: str) -> str:
    text = text.strip()
    return text if text.endswith((".", "!", "?")) else text + "."


def notice(outcomes: list[Outcome], labels: dict[str, str]) -> str:
    """The student's notice: done changes counted per verb and named by label, then each one that was not done and
    why. `labels`: diff id -> "<block title>: <field description>" (a change without one is "a change")."""
    def label(o: Outcome) -> str:
        return labels.get(o.diff_id) or "a change"

    parts: list[str] = []
    for verb in ("approve", "reject"):
        done = [label(o) for o in outcomes if o.state == "done" and o.verb == verb]
        if done:
            count = f"{len(done)} change{'s' if len(done) != 1 else ''}"
            parts.append(f"{count} {PAST[verb]}: {_quoted(done)}.")
    for o in outcomes:
        if o.state == "already":
            parts.append(f"\u201c{label(o)}\u201d was already {o.detail}; nothing done.")
        elif o.state == "refused":
            parts.append(_sentence(f"\u201c{label(o)}\u201d was not {PAST[o.verb]}: {o.detail}"))
        elif o.state == "failed":
            parts.append(f"\u201c{label(o)}\u201d: {SAVE_FAILED}")
    return " ".join(parts)


__all__ = ["SAVE_FAILED", "Outcome", "notice"]
