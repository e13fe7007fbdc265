"""The block file format: Markdown a student can read, with front matter and one `## field` section per field.

```
---
block: "journey"
title: "Your essay journey"
course: "college-essay"
updated_at: "2026-11-24T00:40:23+00:00"
schema: 1
fields: {"status": "string", "milestones": "list"}
---
# Your essay journey

## status

in_progress

## milestones

- Chose a topic
- "A JSON string when the item has a line break\\nor starts with a quote"
```

Why this shape: each field is addressable by its heading, and the front matter records each field's type so an old
version reads back with the types it was written with. Values round-trip exactly:
- string: written as is, unless a line starts with `## ` or the first line looks like a code fence; then it is
  written inside a fence longer than any run of backticks it contains (so nothing inside can close it).
- int, float (repr), bool (true/false), datetime (ISO 8601, empty for none): one line.
- list (of strings): one `- item` line per item; an item with a line break, a leading `"`, or surrounding
  whitespace is written as a JSON string.
Front-matter values are JSON scalars or flow mappings, which are also valid YAML.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ..config import FieldType
from ..errors import YoulabError

SCHEMA_VERSION = 1
_FENCE_OPEN = re.compile(r"(`{3,})text")
_FENCE_LIKE = re.compile(r"\s{0,3}(`{3,}|~{3,})")
_BACKTICK_RUN = re.compile(r"`+")


class BlockFileError(YoulabError):
    """A block file that cannot be read back (edited by hand, or from a newer schema)."""


@dataclass
class BlockDoc:
    """The content of one block file."""

    block: str
    title: str
    course: str
    updated_at: datetime | None
    values: dict[str, Any] = field(default_factory=dict)
    types: dict[str, FieldType] = field(default_factory=dict)
    schema: int = SCHEMA_VERSION


# ---- values ------------------------------------------------------------------------------------------------------


def _plain_string(text: str) -> bool:
    lines = text.split("\n")
    if _FENCE_LIKE.match(lines[0]):
        return False
    return not any(line.startswith("## ") for line in lines)


def _encode_string(text: str) -> str:
    if _plain_string(text):
        return text
    longest = max((len(m) for m in _BACKTICK_RUN.findall(text)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}text\n{text}\n{fence}"


def _plain_item(item: str) -> bool:
    return bool(item) and "\n" not in item and "\r" not in item and not item.startswith('"') and item == item.strip()


def encode_value(ftype: FieldType, value: Any) -> str:
    """The section body for `value` (no trailing newline)."""
    if ftype is FieldType.string:
        return _encode_string(value)
    if ftype is FieldType.list:
        return "\n".join(f"- {item}" if _plain_item(item) else f"- {json.dumps(item, ensure_ascii=False)}" for item in value)
    if ftype is FieldType.bool:
        return "true" if value else "false"
    if ftype is FieldType.int:
        return str(int(value))
    if ftype is FieldType.float:
        return repr(float(value))
    return "" if value is None else value.isoformat()


def decode_value(ftype: FieldType, body: str, *, where: str) -> Any:
    try:
        if ftype is FieldType.string:
            return body
        if ftype is FieldType.list:
            items = []
            for line in body.split("\n"):
                if not line.strip():
                    continue
                if not (line.startswith("- ") or line == "-"):
                    raise ValueError(f"list line {line!r} does not start with '- '")
                item = line[2:]
                items.append(json.loads(item) if item.startswith('"') else item)
            return items
        text = body.strip()
        if ftype is FieldType.bool:
            if text.lower() not in ("true", "false"):
                raise ValueError(f"{text!r} is not true or false")
            return text.lower() == "true"
        if ftype is FieldType.int:
            return int(text)
        if ftype is FieldType.float:
            value = float(text)
            return value if not math.isnan(value) else math.nan
        return datetime.fromisoformat(text) if text else None
    except (ValueError, json.JSONDecodeError) as exc:
        raise BlockFileError(f"{where}: cannot read the {ftype.value} value: {exc}") from None


# ---- whole file --------------------------------------------------------------------------------------------------


def render(doc: BlockDoc) -> str:
    types = {name: doc.types[name].value for name in doc.values}
    head = [
        "---",
        f"block: {json.dumps(doc.block)}",
        f"title: {json.dumps(doc.title, ensure_ascii=False)}",
        f"course: {json.dumps(doc.course)}",
        f"updated_at: {json.dumps(doc.updated_at.isoformat() if doc.updated_at else None)}",
        f"schema: {doc.schema}",
        f"fields: {json.dumps(types)}",
        "---",
        "# " + (" ".join(doc.title.split()) or doc.block),
        "",
    ]
    sections = [f"## {name}\n\n{encode_value(doc.types[name], value)}\n" for name, value in doc.values.items()]
    return "\n".join(head) + "\n" + "\n".join(sections)


def _front_matter(lines: list[str], where: str) -> tuple[dict[str, Any], int]:
    if not lines or lines[0] != "---":
        raise BlockFileError(f"{where}: the file does not start with a '---' front-matter line")
    meta: dict[str, Any] = {}
    for index in range(1, len(lines)):
        line = lines[index]
        if line == "---":
            return meta, index + 1
        if not line.strip() or line.lstrip().startswith("#"):
            continue  # blank lines and YAML comments
        key, sep, raw = line.partition(":")
        if not sep:
            raise BlockFileError(f"{where}: front-matter line {index + 1} {line!r} is not 'key: value'")
        raw = raw.strip()
        try:
            meta[key.strip()] = json.loads(raw)
        except json.JSONDecodeError:
            meta[key.strip()] = raw  # a plain YAML scalar someone typed by hand
    raise BlockFileError(f"{where}: the front matter is not closed by a '---' line")


def parse(text: str, *, where: str) -> BlockDoc:
    """Read a block file back. `where` (the path) prefixes every error."""
    lines = text.split("\n")
    meta, index = _front_matter(lines, where)
    schema = meta.get("schema", SCHEMA_VERSION)
    if not isinstance(schema, int) or schema > SCHEMA_VERSION:
        raise BlockFileError(f"{where}: schema {schema!r} is newer than this version of YouLab reads ({SCHEMA_VERSION})")
    raw_types = meta.get("fields") or {}
    if not isinstance(raw_types, dict):
        raise BlockFileError(f"{where}: front-matter 'fields' must map field names to types")
    try:
        types = {name: FieldType(kind) for name, kind in raw_types.items()}
    except ValueError as exc:
        raise BlockFileError(f"{where}: front-matter 'fields': {exc}") from None
    updated_raw = meta.get("updated_at")
    try:
        updated_at = datetime.fromisoformat(updated_raw) if isinstance(updated_raw, str) and updated_raw else None
    except ValueError:
        raise BlockFileError(f"{where}: updated_at {updated_raw!r} is not an ISO date-time") from None
    doc = BlockDoc(
        block=str(meta.get("block", "")),
        title=str(meta.get("title", "")),
        course=str(meta.get("course", "")),
        updated_at=updated_at,
        types=types,
        schema=schema,
    )
    for name, body in _sections(lines, index, where):
        if name not in types:
            raise BlockFileError(f"{where}: section '## {name}' has no type in the front matter's 'fields'")
        doc.values[name] = decode_value(types[name], body, where=f"{where}: ## {name}")
    missing = [name for name in types if name not in doc.values]
    if missing:
        raise BlockFileError(f"{where}: no '## ' section for field(s) {', '.join(missing)}")
    return doc


def sections(text: str, *, where: str) -> dict[str, str]:
    """Each field's section body as written, not decoded: enough to tell which fields two versions of a block differ
    in, at a fraction of `parse`'s cost (the memory view's last-change column compares thousands of versions)."""
    lines = text.split("\n")
    _, index = _front_matter(lines, where)
    return dict(_sections(lines, index, where))


def _sections(lines: list[str], index: int, where: str) -> list[tuple[str, str]]:
    """Split the body into (field name, section body). A fenced string may contain '## ' lines."""
    while index < len(lines) and not lines[index].startswith("## "):
        index += 1  # the '# Title' line and blank lines
    sections: list[tuple[str, str]] = []
    while index < len(lines):
        name = lines[index][3:].strip()
        index += 1
        if index < len(lines) and lines[index] == "":
            index += 1  # the blank line after the heading
        fence = _FENCE_OPEN.fullmatch(lines[index]) if index < len(lines) else None
        if fence:
            close = next((j for j in range(index + 1, len(lines)) if lines[j] == fence.group(1)), None)
            if close is None:
                raise BlockFileError(f"{where}: ## {name}: the code fence {fence.group(1)} is never closed")
            body = "\n".join(lines[index + 1 : close])
            index = close + 1
            while index < len(lines) and not lines[index].startswith("## "):
                if lines[index].strip():
                    raise BlockFileError(f"{where}: ## {name}: text after the closing code fence")
                index += 1
        else:
            start = index
            while index < len(lines) and not lines[index].startswith("## "):
                index += 1
            # Each section is written as "## name\n\n" + body + "\n" and sections are joined by "\n", so the
            # collected lines always end with exactly one separator newline: drop it.
            body = "\n".join(lines[start:index]).removesuffix("\n")
        sections.append((name, body))
    return sections
