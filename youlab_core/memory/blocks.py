"""Reading and writing memory blocks in one student's repository (the working tree is the current state; git holds
every earlier one)."""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ..config import BlockSpec, Course, FieldSpec, FieldType
from ..errors import NotFound
from . import blockfile
from .blockfile import BlockDoc
from .ids import validate_name
from .values import same_value

BLOCKS_DIR = "memory-blocks"


@dataclass(frozen=True)
class Block:
    """A block as the student sees it: typed values in the course's field order."""

    course: str
    name: str
    title: str
    updated_at: datetime | None
    values: dict[str, Any]
    types: dict[str, FieldType]


@dataclass(frozen=True)
class BlockInfo:
    name: str
    title: str
    exists: bool  # False until the first write; reading it gives the course's defaults
    updated_at: datetime | None


@dataclass(frozen=True)
class HistoryEntry:
    version: str  # the commit id: pass it to read_at, restore and diff
    author: str
    committer: str
    message: str
    at: datetime
    fields: tuple[str, ...]  # the fields whose value this commit changed


def block_path(course: Course, block: str) -> str:
    return f"{BLOCKS_DIR}/{validate_name('course', course.id)}/{validate_name('block', block)}.md"


def block_spec(course: Course, block: str) -> BlockSpec:
    spec = course.blocks.get(block)
    if spec is None:
        raise NotFound(f"course {course.id!r} has no block {block!r} (blocks: {', '.join(course.blocks)})")
    return spec


def field_spec(course: Course, block: str, field: str) -> FieldSpec:
    spec = block_spec(course, block).fields.get(field)
    if spec is None:
        raise NotFound(
            f"block {block!r} of course {course.id!r} has no field {field!r} "
            f"(fields: {', '.join(block_spec(course, block).fields)})"
        )
    return spec


def new_doc(course: Course, block: str) -> BlockDoc:
    """A block that was never written: every field at its course default."""
    spec = block_spec(course, block)
    return BlockDoc(
        block=block,
        title=spec.title or block,
        course=course.id,
        updated_at=None,
        values={name: f.initial_value() for name, f in spec.fields.items()},
        types={name: f.type for name, f in spec.fields.items()},
    )


def load_doc(course: Course, block: str, text: str | None, *, where: str) -> BlockDoc:
    """The stored block (or a new one), with fields the course added since at their defaults. Fields the course
    dropped stay in the file (nothing is lost) but are listed after the course's own."""
    fresh = new_doc(course, block)
    if text is None:
        return fresh
    stored = blockfile.parse(text, where=where)
    values = {}
    types = {}
    for name in [*fresh.values, *(n for n in stored.values if n not in fresh.values)]:
        if name in stored.values:
            values[name], types[name] = stored.values[name], stored.types[name]
        else:
            values[name], types[name] = fresh.values[name], fresh.types[name]
    stored.values, stored.types = values, types
    stored.title = fresh.title
    return stored


def to_block(doc: BlockDoc) -> Block:
    return Block(doc.course, doc.block, doc.title, doc.updated_at, dict(doc.values), dict(doc.types))


def changed_fields(old: BlockDoc | None, new: BlockDoc) -> tuple[str, ...]:
    if old is None:
        return tuple(new.values)
    names = [*new.values, *(n for n in old.values if n not in new.values)]
    return tuple(
        n for n in names
        if n not in old.values or n not in new.values or not same_value(old.values[n], new.values[n])
    )


def unified(old_text: str, new_text: str, *, old_label: str, new_label: str) -> str:
    return "".join(
        difflib.unified_diff(
            old_text.splitlines(keepends=True), new_text.splitlines(keepends=True), fromfile=old_label, tofile=new_label
        )
    )
