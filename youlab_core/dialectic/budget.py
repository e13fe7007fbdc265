"""Fitting a student's messages into the LLM's history budget (Settings.history_token_budget).

The estimate is deliberately simple and conservative for English text: one token per 4 characters, rounded up, plus
4 tokens of per-message overhead (role and separators). It needs no tokenizer, so it works the same for every model;
the budget is a setting, so an admin with a long-context model raises it rather than trusting a finer estimate.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..prompts import PastDecision
from .source import HistoryMessage

DECISIONS_SHARE = 4  # the student's earlier decisions take at most 1/4 of the budget; the transcript the rest

CHARS_PER_TOKEN = 4
MESSAGE_OVERHEAD_TOKENS = 4
TRUNCATION_MARK = " [...]"


def estimate_tokens(text: str) -> int:
    return -(-len(text) // CHARS_PER_TOKEN) + MESSAGE_OVERHEAD_TOKENS


def take_newest(messages: Sequence[HistoryMessage], budget: int, *, cut_first: bool = True) -> tuple[list[HistoryMessage], int]:
    """The newest messages (kept in their original order) whose estimated tokens fit `budget`, and the tokens used.

    With `cut_first`, a newest message larger than the whole budget is cut to fit (its beginning kept, marked with
    ` [...]`) rather than leaving the transcript empty.
    """
    kept: list[HistoryMessage] = []
    used = 0
    for message in reversed(messages):
        cost = estimate_tokens(message.content)
        if used + cost <= budget:
            kept.append(message)
            used += cost
            continue
        if cut_first and not kept:
            room_chars = max(0, (budget - MESSAGE_OVERHEAD_TOKENS) * CHARS_PER_TOKEN - len(TRUNCATION_MARK))
            if room_chars > 0:
                cut = HistoryMessage(message.role, message.content[:room_chars] + TRUNCATION_MARK, message.at)
                kept.append(cut)
                used += estimate_tokens(cut.content)
        break
    kept.reverse()
    return kept, used


def take_decisions(decisions: Sequence[PastDecision], budget: int) -> tuple[list[PastDecision], int]:
    """The newest decisions (given newest first) whose sentences fit `budget // DECISIONS_SHARE` tokens, and the
    tokens they use: what the student decided matters, but the student's messages remain the evidence."""
    room = budget // DECISIONS_SHARE
    kept: list[PastDecision] = []
    used = 0
    for decision in decisions:
        cost = estimate_tokens(decision.sentence())
        if used + cost > room:
            break
        kept.append(decision)
        used += cost
    return kept, used
