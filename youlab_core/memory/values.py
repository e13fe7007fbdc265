"""Typed field values: checking a value against its field type, encoding it for JSON (pending-diff files), and
comparing two values: exactly (`same_value`), or as a student would (`equivalent`: whitespace, case and list order
do not count), which is how a run recognises a value the student already decided on."""

from __future__ import annotations

import json
import math
from datetime import datetime, timezone
from typing import Any

from ..config import FieldSpec, FieldType
from ..errors import YoulabError


class InvalidFieldValue(YoulabError):
    """A value that is not of the field's type, or outside its options or max."""


def check_value(spec: FieldSpec, value: Any, *, where: str) -> Any:
    """Return `value` in its canonical form for `spec` (int -> float for float fields), or raise InvalidFieldValue."""
    ftype = spec.type
    if ftype is FieldType.string:
        ok = isinstance(value, str)
    elif ftype is FieldType.int:
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif ftype is FieldType.float:
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        if ok:
            value = float(value)
    elif ftype is FieldType.bool:
        ok = isinstance(value, bool)
    elif ftype is FieldType.list:
        ok = isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value)
        if ok:
            value = list(value)
    else:
        if value == "":
            value = None
        ok = value is None or isinstance(value, datetime)
    if not ok:
        raise InvalidFieldValue(f"{where}: {value!r} is not a {ftype.value}")
    if spec.options is not None and value not in (None, "") and not any(same_value(value, o) for o in spec.options):
        raise InvalidFieldValue(f"{where}: {value!r} is not one of {spec.options!r}")
    if spec.max is not None:
        if ftype is FieldType.list and len(value) > spec.max:
            raise InvalidFieldValue(f"{where}: {len(value)} items, more than the field's max of {spec.max}")
        if ftype is FieldType.string and len(value) > spec.max:
            raise InvalidFieldValue(f"{where}: {len(value)} characters, more than the field's max of {spec.max}")
        if ftype in (FieldType.int, FieldType.float) and value > spec.max:
            raise InvalidFieldValue(f"{where}: {value!r} is more than the field's max of {spec.max}")
    return value


def to_json_value(ftype: FieldType, value: Any) -> Any:
    """A JSON-safe form of a typed value (datetimes as ISO text, non-finite floats as text)."""
    if value is None:
        return None
    if ftype is FieldType.datetime:
        return value.isoformat()
    if ftype is FieldType.float and not math.isfinite(value):
        return repr(value)
    return value


def from_json_value(ftype: FieldType, raw: Any) -> Any:
    if raw is None:
        return None
    if ftype is FieldType.datetime:
        return datetime.fromisoformat(raw)
    if ftype is FieldType.float:
        return float(raw)
    if ftype is FieldType.list:
        return list(raw)
    return raw


def same_value(a: Any, b: Any) -> bool:
    """Equality of field values, the one comparison memory, merges and the runner use.

    NaN equals NaN (with `==` a NaN field would look changed forever, and every run would propose it again).
    A bool never equals a number (`True == 1` in Python, but a bool field set to True is not an int field set to 1).
    Otherwise `==`: 1 equals 1.0 (an int given to a float field is the same value), lists compare item by item.
    """
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    if isinstance(a, bool) != isinstance(b, bool):
        return False
    return bool(a == b)


def decision_key(value: Any) -> Any:
    """A hashable form of a field value in which what a student would not call a difference is gone: runs of
    whitespace, letter case, list order (and duplicate list items), 1 vs 1.0, a datetime's time zone notation.
    A bool keeps its type (True is not 1); None and "" both mean an empty field."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return ("empty",)
    if isinstance(value, bool):
        return ("bool", value)
    if isinstance(value, (int, float)):
        number = float(value)
        return ("number", "nan" if math.isnan(number) else number)
    if isinstance(value, str):
        return ("text", " ".join(value.split()).casefold())
    if isinstance(value, datetime):
        moment = value if value.tzinfo is not None else value.replace(tzinfo=timezone.utc)
        return ("time", moment.astimezone(timezone.utc).isoformat())
    if isinstance(value, (list, tuple, set, frozenset)):
        items = {decision_key(item) for item in value} - {("empty",)}
        return ("list", tuple(sorted(items, key=repr))) if items else ("empty",)
    return ("other", repr(value))


def equivalent(a: Any, b: Any) -> bool:
    """Whether two field values are the same to a student (see `decision_key`): a rejected "Stanford" is not
    proposed again as "stanford ", nor ["a", "b"] as ["b", "a"]."""
    return bool(decision_key(a) == decision_key(b))


def value_text(value: Any) -> str:
    """A field value as a student reads it (a list one item a line, a time in ISO 8601, other values as JSON)."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return "\n".join(str(v) for v in value)
    if isinstance(value, datetime):
        return value.isoformat()
    return json.dumps(value, ensure_ascii=False, default=str)
