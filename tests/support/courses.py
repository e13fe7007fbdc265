"""Course files for tests and benchmarks: one builder instead of a hand-written TOML copy per module.

Most tests need "a course with these tasks" and nothing about its wording, so they build it:

    text = course_toml("demo", tasks=[task("nightly", schedule="0 2 * * *", manual=False)])
    write_course(tmp_path / "config", text)

Defaults give the smallest valid course: tutor model `<id>-tutor`, one block `student` with a string field `notes`,
one manual task `t1` asking "What?" into `student.notes`. Tests that are about the text itself (parsing, validation
messages, exact keys) keep a literal TOML instead.

The venv has no TOML writer (tomllib only reads), so `toml_value` writes the few value kinds a course uses.
"""

from __future__ import annotations

import math
import re
import tomllib
from collections.abc import Mapping, Sequence
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

NOTES: dict[str, Any] = {"type": "string"}
_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")
_ESCAPES = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f", "\r": "\\r"}


def query(target: str = "student.notes", question: str = "What?", **extra: Any) -> dict[str, Any]:
    """One `queries` entry; `extra` adds scope, merge, recent_limit, sessions."""
    return {"target": target, "question": question, **extra}


def task(name: str, *, schedule: str | None = None, on_idle: bool = False, after_messages: int | None = None,
         manual: bool = True, queries: Sequence[Mapping[str, Any]] | None = None, **extra: Any) -> dict[str, Any]:
    """One `[[task]]` table. Unset triggers are left out; `manual` is always written, so a task with every trigger
    off stays invalid on purpose. `extra` adds any other task key (batch_size, user_filter, timezone, ...)."""
    spec: dict[str, Any] = {"name": name}
    if schedule is not None:
        spec["schedule"] = schedule
    if on_idle:
        spec["on_idle"] = True
    if after_messages is not None:
        spec["after_messages"] = after_messages
    spec["manual"] = manual
    spec.update(extra)
    spec["queries"] = [dict(q) for q in queries] if queries is not None else [query()]
    return spec


def block(fields: Mapping[str, Mapping[str, Any]] | None = None, **keys: Any) -> dict[str, Any]:
    """One `[block.NAME]` table: `fields` maps field name to its spec; `keys` adds label, title, description."""
    return {**keys, "field": {name: dict(spec) for name, spec in (fields or {"notes": NOTES}).items()}}


def course_toml(course_id: str = "demo", *, name: str | None = None, models: Sequence[str] | None = None,
                blocks: Mapping[str, Mapping[str, Any]] | None = None, tasks: Sequence[Mapping[str, Any]] | None = None,
                **agent: Any) -> str:
    """A course file's text. `blocks` maps block name to `block(...)`; `agent` adds keys of `[agent]`
    (description, system, base_model, version)."""
    head = {"id": course_id, "name": name if name is not None else course_id.title(),
            "models": list(models) if models is not None else [f"{course_id}-tutor"], **agent}
    sections = [_table("[agent]", head)]
    for block_name, spec in (blocks if blocks is not None else {"student": block()}).items():
        sections.append(_table(f"[block.{_key(block_name)}]", spec))
    for spec in tasks if tasks is not None else [task("t1")]:
        sections.append(_table("[[task]]", spec))
    return "\n".join(sections)


def write_course(config_dir: Path, text: str, folder: str | None = None) -> Path:
    """Write `text` as `<config_dir>/courses/<folder>/course.toml` (folder: the course id in the text); returns the
    file."""
    folder = folder or tomllib.loads(text)["agent"]["id"]
    path = config_dir / "courses" / folder / "course.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def _table(header: str, entries: Mapping[str, Any]) -> str:
    lines = [header]
    for key, value in entries.items():
        if value is None:
            continue
        if isinstance(value, Mapping) and value and all(isinstance(v, Mapping) for v in value.values()):
            # `field.notes = { ... }`, the way course files spell a block's fields
            lines += [f"{_key(key)}.{_key(sub)} = {toml_value(v)}" for sub, v in value.items()]
        elif isinstance(value, Sequence) and not isinstance(value, str) and value and \
                all(isinstance(v, Mapping) for v in value):
            lines += [f"{_key(key)} = ["] + [f"  {toml_value(v)}," for v in value] + ["]"]
        else:
            lines.append(f"{_key(key)} = {toml_value(value)}")
    return "\n".join(lines) + "\n"


def _key(key: str) -> str:
    return key if _BARE_KEY.fullmatch(key) else toml_value(key)


def toml_value(value: Any) -> str:
    """`value` as a TOML value on one line: strings, bools, ints, floats, dates and times, lists, inline tables."""
    if isinstance(value, str):
        return '"' + "".join(_ESCAPES.get(c) or (f"\\u{ord(c):04x}" if ord(c) < 0x20 or ord(c) == 0x7F else c)
                             for c in value) + '"'
    if isinstance(value, bool):  # before int: bool is an int
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, Mapping):
        inner = ", ".join(f"{_key(k)} = {toml_value(v)}" for k, v in value.items() if v is not None)
        return f"{{ {inner} }}" if inner else "{}"
    if isinstance(value, Sequence):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    raise TypeError(f"no TOML form for {type(value).__name__}: {value!r}")
