"""The three merge strategies: how an insight about a student becomes a proposed value of one field.

- append: the insight is added to the field's text (a new line) or, for a list, as a new item; past the field's
  `max` the oldest lines or items are dropped, and the result's `note` says which.
- replace: the insight becomes the value, coerced to the field's type (or the proposal is refused with a reason).
- llm_diff: an LLM merges the insight into the current value, now, so the student approves exactly what they see.

Each returns None when there is nothing to propose (an empty insight, or a result equal to the current value).
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from .config import FieldSpec, FieldType, MergeStrategy
from .errors import ProposalRefused
from .llm.base import LLM
from .memory.values import same_value
from .prompts import merge_messages


@dataclass(frozen=True)
class MergeResult:
    value: Any
    operation: MergeStrategy
    note: str = ""  # what the student should know beyond the value itself (e.g. dropped items)
    dropped: tuple[str, ...] = ()
    model: str = ""  # the LLM that merged (llm_diff)


def _shown(items: tuple[str, ...] | list[str]) -> str:
    return "; ".join(json.dumps(i, ensure_ascii=False) for i in items)


# ---- coercion (replace, and the LLM's reply) -------------------------------------------------------------------------

_BULLET = re.compile(r"^\s*(?:[-*+\u2022]|\d+[.)])\s+")
_TRUE = {"true", "yes", "y", "1", "on"}
_FALSE = {"false", "no", "n", "0", "off"}


def _bare(text: str) -> str:
    """An answer stripped of the wrapping an LLM likes to add: whitespace, a final period, quotes, backticks."""
    text = text.strip()
    if re.fullmatch(r"\S+\.", text):
        text = text[:-1]
    for quote in ('"', "'", "`"):
        if len(text) >= 2 and text[0] == quote and text[-1] == quote:
            text = text[1:-1].strip()
    return text


def parse_list(text: str) -> list[str]:
    """A list from a JSON array, or from one item per line (bullets and numbering removed)."""
    stripped = text.strip()
    if stripped.startswith("["):
        try:
            data = json.loads(stripped)
        except json.JSONDecodeError:
            data = None
        if isinstance(data, list):
            return [str(item).strip() for item in data if str(item).strip()]
    return [_BULLET.sub("", line).strip() for line in stripped.split("\n") if _BULLET.sub("", line).strip()]


def coerce(spec: FieldSpec, text: str, *, field_name: str) -> tuple[Any, tuple[str, ...]]:
    """The field value `text` stands for, and the list items dropped to honour `max`. Raises ProposalRefused."""
    where = f"field {field_name!r} ({spec.type.value})"
    ftype = spec.type
    if ftype is FieldType.string:
        value: Any = text.strip()
        if spec.options is not None:
            match = next((o for o in spec.options if o.lower() == _bare(value).lower()), None)
            if match is None:
                raise ProposalRefused(f"{where}: {_bare(value)!r} is not one of {', '.join(map(str, spec.options))}")
            value = match
        if spec.max is not None and len(value) > spec.max:
            raise ProposalRefused(f"{where}: the answer has {len(value)} characters, more than the field's max of {spec.max}")
        return value, ()
    if ftype is FieldType.list:
        items = parse_list(text)
        dropped: tuple[str, ...] = ()
        if spec.max is not None and len(items) > spec.max:
            dropped, items = tuple(items[: len(items) - int(spec.max)]), items[len(items) - int(spec.max) :]
        return items, dropped
    bare = _bare(text)
    try:
        if ftype is FieldType.int:
            if not re.fullmatch(r"[+-]?\d[\d_,]*", bare):
                raise ValueError
            value = int(bare.replace(",", "").replace("_", ""))
        elif ftype is FieldType.float:
            value = float(bare.replace(",", ""))
            if not math.isfinite(value):
                raise ValueError
        elif ftype is FieldType.bool:
            if bare.lower() not in _TRUE | _FALSE:
                raise ValueError
            value = bare.lower() in _TRUE
        else:
            value = datetime.fromisoformat(bare)
            if value.tzinfo is None:
                value = value.replace(tzinfo=timezone.utc)  # naive times are read as UTC, like every other time here
    except ValueError:
        expected = {
            FieldType.int: "a whole number",
            FieldType.float: "a number",
            FieldType.bool: "yes/no or true/false",
            FieldType.datetime: "an ISO date or date-time such as 2026-03-01 or 2026-03-01T09:00:00Z",
        }[ftype]
        shown = bare if len(bare) <= 80 else bare[:77] + "..."
        raise ProposalRefused(f"{where}: expected {expected}, got {shown!r}") from None
    if spec.options is not None and value not in spec.options:
        raise ProposalRefused(f"{where}: {value!r} is not one of {spec.options!r}")
    if spec.max is not None and ftype in (FieldType.int, FieldType.float) and value > spec.max:
        raise ProposalRefused(f"{where}: {value!r} is more than the field's max of {spec.max}")
    return value, ()


def _dropped_note(dropped: tuple[str, ...], spec: FieldSpec, unit: str) -> str:
    if not dropped:
        return ""
    return f"Dropped the oldest {len(dropped)} {unit}(s) to stay within the field's max of {spec.max}: {_shown(dropped)}"


# ---- strategies --------------------------------------------------------------------------------------------------------


def append(spec: FieldSpec, current: Any, insight: str, *, field_name: str) -> MergeResult | None:
    text = insight.strip()
    if not text:
        return None
    if spec.type is FieldType.list:
        items = list(current or [])
        if text in items:
            return None  # already recorded: nothing new to propose
        items.append(text)
        dropped: tuple[str, ...] = ()
        if spec.max is not None and len(items) > spec.max:
            dropped, items = tuple(items[: len(items) - int(spec.max)]), items[len(items) - int(spec.max) :]
        return MergeResult(items, MergeStrategy.append, _dropped_note(dropped, spec, "item"), dropped)
    if spec.type is not FieldType.string:
        raise ProposalRefused(f"field {field_name!r} is a {spec.type.value}: append works on text and list fields only")
    if spec.options is not None:
        raise ProposalRefused(f"field {field_name!r} only takes one of {spec.options!r}: use replace, not append")
    existing = current or ""
    if text in existing.split("\n"):
        return None
    lines = [*(existing.rstrip("\n").split("\n") if existing.strip() else []), text]
    dropped = ()
    if spec.max is not None:
        if len(text) > spec.max:
            raise ProposalRefused(f"field {field_name!r}: the insight alone is longer than the field's max of {spec.max}")
        while len("\n".join(lines)) > spec.max:
            dropped, lines = (*dropped, lines[0]), lines[1:]
    return MergeResult("\n".join(lines), MergeStrategy.append, _dropped_note(dropped, spec, "line"), dropped)


def replace(spec: FieldSpec, current: Any, insight: str, *, field_name: str) -> MergeResult | None:
    if not insight.strip():
        return None
    value, dropped = coerce(spec, insight, field_name=field_name)
    if same_value(value, current):
        return None
    return MergeResult(value, MergeStrategy.replace, _dropped_note(dropped, spec, "item"), dropped)


def _as_text(spec: FieldSpec, value: Any) -> str:
    if value is None:
        return ""
    if spec.type is FieldType.list:
        return "\n".join(f"- {item}" for item in value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _unfence(text: str) -> str:
    match = re.fullmatch(r"\s*```[\w-]*\n(.*?)\n?```\s*", text, re.S)
    return match.group(1) if match else text


async def llm_diff(
    spec: FieldSpec, current: Any, insight: str, *, llm: LLM | None, field_name: str, timeout: float | None = None
) -> MergeResult | None:
    if not insight.strip():
        return None
    if llm is None:
        raise ProposalRefused(f"field {field_name!r} merges with llm_diff, but no LLM is configured")
    messages = merge_messages(field_name, spec.description, _as_text(spec, current), insight.strip())
    completion = await llm.complete(messages, timeout=timeout)
    merged = _unfence(completion.text).strip()
    if not merged:
        return None  # the model declined: nothing to propose
    value, dropped = coerce(spec, merged, field_name=field_name)
    if same_value(value, current):
        return None
    return MergeResult(value, MergeStrategy.llm_diff, _dropped_note(dropped, spec, "item"), dropped, completion.model)


async def merge_insight(
    strategy: MergeStrategy | str,
    spec: FieldSpec,
    current: Any,
    insight: str,
    *,
    llm: LLM | None,
    field_name: str,
    timeout: float | None = None,
) -> MergeResult | None:
    """The value to propose for a field given a new insight, or None when there is nothing to propose.
    Raises ProposalRefused with a reason when the insight cannot become a value of the field (LLMError passes up)."""
    strategy = MergeStrategy(strategy)
    if strategy is MergeStrategy.append:
        return append(spec, current, insight, field_name=field_name)
    if strategy is MergeStrategy.replace:
        return replace(spec, current, insight, field_name=field_name)
    return await llm_diff(spec, current, insight, llm=llm, field_name=field_name, timeout=timeout)

