"""Turn a parsed TOML document into a `Course`, or into every problem it has, each with its key path."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError
from pydantic_core import ErrorDetails

from ..errors import ConfigIssue
from .schema import Course, FieldType

# Which merge strategies make sense for which field types; anything else is refused at load time,
# not discovered when a run proposes an impossible edit.
_MERGE_TYPES = {
    "append": {FieldType.string.value, FieldType.list.value},
    "llm_diff": {FieldType.string.value},
}


def key_path(parts: list[str | int]) -> str:
    """("task", 0, "queries", 2, "target") -> "task[0].queries[2].target"."""
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def _real_loc(raw: Any, loc: tuple[Any, ...], err_type: str) -> list[str | int]:
    """Pydantic's error locations carry union tags such as "literal['all']"; keep only the keys that exist
    in the document (plus a missing key at the end), so the path is one the author can find in the file."""
    path: list[str | int] = []
    node = raw
    for i, part in enumerate(loc):
        last = i == len(loc) - 1
        if isinstance(part, int) and isinstance(node, list) and 0 <= part < len(node):
            path.append(part)
            node = node[part]
        elif isinstance(part, str) and isinstance(node, dict) and part in node:
            path.append(part)
            node = node[part]
        elif isinstance(part, str) and last and err_type == "missing":
            path.append(part)
    return path


def _reason(error: ErrorDetails) -> str:
    if error["type"] == "extra_forbidden":
        return "unknown key (not part of the course schema; check the spelling)"
    if error["type"] == "missing":
        return "required key is missing"
    msg = str(error.get("msg", "invalid value"))
    return msg.removeprefix("Value error, ").removeprefix("Assertion failed, ")


def _table(value: Any) -> dict[str, Any]:
    """A TOML table, or an empty one when the document has something else there (the schema reports that)."""
    return value if isinstance(value, dict) else {}


def _array(value: Any) -> list[Any]:
    """A TOML array, or an empty one when the document has something else there (the schema reports that)."""
    return value if isinstance(value, list) else []


def _reference_issues(raw: dict[str, Any], file: str) -> list[ConfigIssue]:
    """Checks across parts of the file, done on the raw document so they run even when other parts are broken."""
    issues: list[ConfigIssue] = []
    agent = _table(raw.get("agent"))
    if agent.get("teachers_read_memory") is True and not _array(agent.get("teachers")):
        issues.append(ConfigIssue(file, "agent.teachers_read_memory",
                                  "lets teachers read students' memory, but `agent.teachers` names no teacher group"))
    blocks = _table(raw.get("block"))
    tasks = _array(raw.get("task"))
    seen: dict[str, int] = {}
    for ti, task in enumerate(tasks):
        if not isinstance(task, dict):
            continue
        name = task.get("name")
        if isinstance(name, str):
            if name in seen:
                issues.append(ConfigIssue(file, f"task[{ti}].name", f"duplicate task name {name!r} (also task[{seen[name]}])"))
            else:
                seen[name] = ti
        queries = _array(task.get("queries"))
        for qi, query in enumerate(queries):
            if not isinstance(query, dict) or not isinstance(query.get("target"), str):
                continue
            where = f"task[{ti}].queries[{qi}].target"
            target = query["target"]
            if target.count(".") != 1:
                continue  # the schema reports the shape
            block_name, field_name = target.split(".")
            block = blocks.get(block_name)
            if not isinstance(block, dict):
                known = ", ".join(sorted(map(str, blocks))) or "none"
                issues.append(ConfigIssue(file, where, f"block {block_name!r} does not exist (blocks: {known})"))
                continue
            fields = _table(block.get("field"))
            if field_name not in fields:
                known = ", ".join(sorted(map(str, fields))) or "none"
                issues.append(ConfigIssue(file, where, f"block {block_name!r} has no field {field_name!r} (fields: {known})"))
                continue
            spec = fields[field_name]
            ftype = spec.get("type", "string") if isinstance(spec, dict) else None
            merge = query.get("merge", "append")
            allowed = _MERGE_TYPES.get(merge) if isinstance(merge, str) else None
            if allowed is not None and isinstance(ftype, str) and ftype in {t.value for t in FieldType} and ftype not in allowed:
                issues.append(
                    ConfigIssue(
                        file,
                        f"task[{ti}].queries[{qi}].merge",
                        f"merge {merge!r} cannot write a {ftype} field ({target}); use 'replace' or a "
                        f"{' or '.join(sorted(allowed))} field",
                    )
                )
    return issues


def validate_course(raw: Any, file: str) -> tuple[Course | None, list[ConfigIssue]]:
    """Validate a parsed document. Returns the course, or None and every issue found."""
    if not isinstance(raw, dict):
        return None, [ConfigIssue(file, "", "a course file must be a TOML table")]
    issues: list[ConfigIssue] = []
    course: Course | None = None
    try:
        course = Course.model_validate(raw)
    except ValidationError as exc:
        for error in exc.errors():
            path = _real_loc(raw, tuple(error.get("loc", ())), error["type"])
            issues.append(ConfigIssue(file, key_path(path), _reason(error)))
    issues.extend(_reference_issues(raw, file))
    # The same problem can be seen by both passes; report it once, in file order of discovery.
    unique = list(dict.fromkeys(issues))
    return (course if not unique else None), unique
