"""One field of a student's memory, as the memory view's actions handle it: naming it in plain words, turning what
the student typed into a value of the field's type (with errors that say what to write), and its history with who,
when, why and the value before (docs/memory-view.md).

Blocking functions (they read git): call them through `asyncio.to_thread`.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ..config import Course, FieldSpec, FieldType
from ..errors import UserFacingError
from ..memory.values import InvalidFieldValue, check_value
from ..threads.report import value_text, when_text
from .memory_view import field_label, who

_SUBJECT = re.compile(r"^(Approve|Undo) (\S+?):")
NOTHING_CHANGED = "Nothing was changed."


class MemoryActionError(UserFacingError):
    """A refusal or a wrong input the student reads (the plugin raises its text as a plain Exception)."""


def fields_of(course: Course) -> list[tuple[str, str, str]]:
    """(block, field, label) of every field of the course, in course.toml's order."""
    return [(b, f, field_label(course, b, f)) for b, spec in course.blocks.items() for f in spec.fields]


def find_field(course: Course, target: Any) -> tuple[str, str, FieldSpec]:
    """`"block.field"` -> (block, field, spec); a wrong name is refused saying which names exist."""
    if not isinstance(target, str) or "." not in target:
        raise MemoryActionError('"youlab.field" must name a field as "block.field", for example "journey.status".')
    block, _, field = target.partition(".")
    spec = course.field_spec(block, field)
    if spec is None:
        known = ", ".join(f"{b}.{f}" for b, f, _ in fields_of(course))
        raise MemoryActionError(f"This course has no field {target!r} (its fields: {known}).")
    return block, field, spec


def _number(text: str, kind: type, label: str) -> Any:
    try:
        value = kind(text.strip())
    except ValueError:
        example = "a whole number, like 3" if kind is int else "a number, like 2.5"
        raise MemoryActionError(f"{label} needs {example}; {text.strip()!r} is not one. {NOTHING_CHANGED}") from None
    if isinstance(value, float) and not math.isfinite(value):
        raise MemoryActionError(f"{label} needs a finite number. {NOTHING_CHANGED}")
    return value


def parse_value(spec: FieldSpec, raw: Any, label: str) -> Any:
    """The typed value for what the student typed (text) or an API caller sent (text or a JSON value)."""
    value: Any = raw
    if isinstance(raw, str):
        text = raw
        if spec.type is FieldType.list:
            value = [re.sub(r"^\s*(?:[-*\u2022]\s+)?", "", line).rstrip() for line in text.splitlines()]
            value = [item for item in value if item]
        elif spec.type is FieldType.int:
            value = _number(text, int, label)
        elif spec.type is FieldType.float:
            value = _number(text, float, label)
        elif spec.type is FieldType.bool:
            answer = text.strip().lower()
            if answer not in ("yes", "no", "true", "false"):
                raise MemoryActionError(f"{label} needs yes or no. {NOTHING_CHANGED}")
            value = answer in ("yes", "true")
        elif spec.type is FieldType.datetime:
            try:
                value = datetime.fromisoformat(text.strip()) if text.strip() else None
            except ValueError:
                raise MemoryActionError(f"{label} needs a date like 2026-11-24 or 2026-11-24T15:30. "
                                        f"{NOTHING_CHANGED}") from None
    if spec.options is not None and value not in (None, "") and value not in spec.options:
        choices = ", ".join(str(o) for o in spec.options)
        raise MemoryActionError(f"{label} must be one of: {choices}. {NOTHING_CHANGED}")
    if spec.max is not None:
        if spec.type is FieldType.list and isinstance(value, list) and len(value) > spec.max:
            raise MemoryActionError(f"{label} holds at most {spec.max:g} items; you wrote {len(value)}. "
                                    f"{NOTHING_CHANGED}")
        if spec.type is FieldType.string and isinstance(value, str) and len(value) > spec.max:
            raise MemoryActionError(f"{label} holds at most {spec.max:g} characters; you wrote {len(value):,}. "
                                    f"{NOTHING_CHANGED}")
        if spec.type in (FieldType.int, FieldType.float) and isinstance(value, int | float) and value > spec.max:
            raise MemoryActionError(f"{label} can be at most {spec.max:g}. {NOTHING_CHANGED}")
    try:
        return check_value(spec, value, where=label)
    except InvalidFieldValue:
        raise MemoryActionError(f"{label} needs {spec.type.value} text of its kind; that value does not fit. "
                                f"{NOTHING_CHANGED}") from None


@dataclass(frozen=True)
class FieldChange:
    """One commit that changed the field: the value before and after, who, when, and why."""

    version: str
    at: datetime
    by: str  # "you", an agent's name, "<agent> (approved by you)"
    before: str
    after: str
    diff_id: str = ""  # the agent's change this commit approved or undid
    kind: str = "edit"  # approve | undo | edit | restore
    question: str = ""
    answer: str = ""
    note: str = ""  # the student's note on the approval or undo
    undone: bool = False  # the approval was undone later

    def as_json(self) -> dict[str, Any]:
        return {"version": self.version, "at": self.at.isoformat(), "by": self.by, "before": self.before,
                "after": self.after, "change_id": self.diff_id, "kind": self.kind, "question": self.question,
                "answer": self.answer, "note": self.note, "undone": self.undone}


def field_history(memory: Any, course: Course, block: str, field: str, limit: int = 50) -> list[FieldChange]:
    """Every change of one field, newest first (blocking)."""
    names = {t.name: t.title for t in course.tasks}
    entries = memory.history(course, block, field, limit=limit)
    if not entries:
        return []
    diffs = {d.id: d for d in memory.list_diffs(course=course.id, block=block, field=field)}
    values = [memory.read_at(course, block, e.version).values.get(field) for e in entries]
    older = memory.history(course, block, limit=None)
    out: list[FieldChange] = []
    for i, (entry, value) in enumerate(zip(entries, values)):
        if i + 1 < len(values):
            before = value_text(values[i + 1])
        else:  # the oldest change of this field: the value in the commit before it (or the course's default)
            versions = [e.version for e in older]
            at = versions.index(entry.version) if entry.version in versions else len(versions)
            before = (value_text(memory.read_at(course, block, versions[at + 1]).values.get(field))
                      if at + 1 < len(versions) else value_text(getattr(course.field_spec(block, field), "default", "")))
        match = _SUBJECT.match(entry.message)
        diff = diffs.get(match.group(2)) if match else None
        kind = "restore" if entry.message.startswith("Restore") else "edit"
        change = FieldChange(entry.version, entry.at, who(entry.author, entry.committer, memory.user_id, names),
                             before, value_text(value), kind=kind)
        if match and diff is not None:
            reasoning = diff.reasoning or ""
            head, sep, tail = reasoning.partition("\nLearned: ")
            answer = tail if sep else reasoning
            undo = match.group(1) == "Undo"
            change = FieldChange(entry.version, entry.at, change.by, before, change.after, diff.id,
                                 "undo" if undo else "approve", diff.source_query, answer,
                                 diff.undo_note if undo else diff.review_note,
                                 undone=not undo and diff.status.value == "undone")
        out.append(change)
    return out


def render_history(label: str, changes: list[FieldChange], zone: str | None = None) -> str:
    """The section the view shows on top after "History" (times in the student's `zone`, else UTC, named)."""
    out = [f"### History of \u201c{label}\u201d", ""]
    if not changes:
        return "\n".join(out + ["Never changed: it still has the course's starting value."])
    for c in changes:
        what = {"approve": "approved a change", "undo": "undid a change", "restore": "restored an earlier value",
                "edit": "edited it"}[c.kind]
        head = f"- **{when_text(c.at, zone)}** \u00b7 {c.by} {what}"
        out.append(head + (" (later undone)" if c.undone else ""))
        out.append(f"  - before: {_short(c.before)}")
        out.append(f"  - after: {_short(c.after)}")
        if c.question:
            out.append(f"  - asked: {_short(c.question)}")
        if c.answer:
            out.append(f"  - learned: {_short(c.answer)}")
        if c.note:
            out.append(f"  - your note: {_short(c.note)}")
    return "\n".join(out)


def _short(text: str, limit: int = 300) -> str:
    flat = " ".join(text.split())
    if not flat:
        return "_(empty)_"
    return flat if len(flat) <= limit else flat[: limit - 1] + "\u2026"
