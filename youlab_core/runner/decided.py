"""How a run uses what the student already decided on a field (`StudentMemory.decisions`).

Before asking: the decisions, newest first, become context for the question (`prompts.PastDecision`; the dialectic
fits them into its budget). After merging: a value equivalent to one the student rejected, or approved and then
undid, is held back; so is any value when the student refused one on that field and nothing in the query's scope
was written since (the same chats, read again, are no new evidence). A held-back value is listed in the report's
details, with the earlier decision's date.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ..config import QuerySpec
from ..memory.decisions import FieldDecisions
from ..memory.values import value_text
from ..prompts import PastDecision
from .report import HeldBack

MAX_DECISIONS_IN_PROMPT = 20  # the newest; the dialectic's budget may keep fewer


def past_decisions(decisions: FieldDecisions | None) -> list[PastDecision]:
    """The decisions on a field as the dialectic's context, newest first."""
    if decisions is None:
        return []
    return [PastDecision(status=d.status.value, value=value_text(d.proposed_value), on=_day(d.decided_at),
                         note=d.decision_note)
            for d in decisions.diffs[:MAX_DECISIONS_IN_PROMPT]]


def held_back(query: QuerySpec, value: Any, decisions: FieldDecisions | None,
              newest_message_at: datetime | None) -> HeldBack | None:
    """Why `value` must not be proposed for the query's field, or None when it may be."""
    if decisions is None or not decisions.refused:
        return None
    refused = decisions.refusal_of(value)
    if refused is not None:
        reason = f"you {_verb(refused.status.value)} this on {_day(refused.decided_at)}"
        return _held(query, value, refused, reason)
    last = decisions.last_refusal_at()
    if last is not None and newest_message_at is not None and newest_message_at <= last:
        latest = decisions.refused[0]
        reason = (f"nothing new was said since you {_verb(latest.status.value)} a change to this field on "
                  f"{_day(latest.decided_at)}")
        return _held(query, value, latest, reason)
    return None


def _held(query: QuerySpec, value: Any, diff: Any, reason: str) -> HeldBack:
    return HeldBack(target=query.target, value=value, reason=reason, diff_id=diff.id, status=diff.status.value,
                    decided_at=diff.decided_at, note=diff.decision_note)


def _verb(status: str) -> str:
    return "undid" if status == "undone" else status


def _day(when: datetime | None) -> str:
    return f"{when:%Y-%m-%d}" if when is not None else "an earlier day"


