"""Valve settings for the installer: parsed from `--valve` flags and `YOULAB_VALVE_<NAME>` variables, typed by the
function's Valves schema, and compared with what is stored so an unchanged value is never written again.

Names match case-insensitively. `NAME=VALUE` applies to every installed function whose Valves has NAME;
`FUNCTION_ID.NAME=VALUE` to that function only. Values of sensitive valves (password fields, SecretStr, or a name
containing key/secret/password/token) are never printed.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..errors import YoulabError

ENV_PREFIX = "YOULAB_VALVE_"
_SENSITIVE_NAME = re.compile(r"key|secret|password|token", re.IGNORECASE)


class ValveError(YoulabError):
    """A valve setting that names no valve, or whose value does not fit the valve's type."""


@dataclass(frozen=True)
class ValveSetting:
    name: str
    value: Any
    function_id: str | None = None  # None: every function that has the valve
    source: str = "--valve"
    required: bool = True  # False: silently skipped when no function has the valve (scripts/run's defaults)


def parse_valve_args(args: list[str], *, source: str = "--valve") -> list[ValveSetting]:
    settings = []
    for arg in args:
        name, sep, value = arg.partition("=")
        name = name.strip()
        if not sep or not name:
            raise ValveError(f"{source} {arg!r}: expected NAME=VALUE or FUNCTION_ID.NAME=VALUE")
        function_id, dot, valve = name.rpartition(".")
        settings.append(ValveSetting(valve, value, function_id if dot else None, source))
    return settings


def valves_from_env(environ: Mapping[str, str]) -> list[ValveSetting]:
    return [
        ValveSetting(key[len(ENV_PREFIX) :].lower(), value, None, key)
        for key, value in sorted(environ.items())
        if key.upper().startswith(ENV_PREFIX) and len(key) > len(ENV_PREFIX)
    ]


def properties(spec: Mapping[str, Any] | None) -> dict[str, dict[str, Any]]:
    return dict((spec or {}).get("properties") or {})


def find_property(spec: Mapping[str, Any] | None, name: str) -> str | None:
    """The valve's real name in the schema (case-insensitive match), or None."""
    return next((p for p in properties(spec) if p.lower() == name.lower()), None)


def is_sensitive(name: str, prop: Mapping[str, Any] | None = None) -> bool:
    prop = prop or {}
    input_type = (prop.get("input") or {}).get("type") if isinstance(prop.get("input"), dict) else None
    return bool(
        _SENSITIVE_NAME.search(name)
        or prop.get("format") == "password"
        or prop.get("writeOnly")
        or input_type == "password"
    )


def _types(prop: Mapping[str, Any]) -> list[str]:
    if "type" in prop:
        t = prop["type"]
        return list(t) if isinstance(t, list) else [t]
    return [str(option.get("type")) for option in prop.get("anyOf", []) if isinstance(option, dict)]


def coerce(value: Any, prop: Mapping[str, Any], where: str) -> Any:
    """`value` (a string from a flag or env, or already typed) as the schema's type."""
    if not isinstance(value, str):
        return value
    types = [t for t in _types(prop) if t != "null"]
    text = value.strip()
    if "null" in _types(prop) and text.lower() in ("", "none", "null"):
        return None
    kind = types[0] if types else "string"
    try:
        if kind == "boolean":
            lowered = text.lower()
            if lowered in ("1", "true", "yes", "on"):
                return True
            if lowered in ("0", "false", "no", "off"):
                return False
            raise ValueError("expected true or false")
        if kind == "integer":
            return int(text)
        if kind == "number":
            return float(text)
        if kind in ("array", "object"):
            if kind == "array" and not text.startswith("["):
                return [item.strip() for item in text.split(",") if item.strip()]
            return json.loads(text)
    except ValueError as exc:
        raise ValveError(f"{where}: {value!r} is not a valid {kind} ({exc})") from None
    return value


def display(name: str, value: Any, prop: Mapping[str, Any] | None = None) -> str:
    """How a value may appear in output: sensitive ones as '(hidden)'."""
    return "(hidden)" if is_sensitive(name, prop) else repr(value)


def desired_valves(
    function_id: str,
    spec: Mapping[str, Any] | None,
    current: Mapping[str, Any],
    settings: list[ValveSetting],
) -> tuple[dict[str, Any], list[str]]:
    """The full valve dict to store for one function, and the names whose value changes.

    Settings that name this function, or no function, and a valve the function has, are applied over `current`.
    """
    wanted = dict(current)
    changed: list[str] = []
    for setting in settings:
        if setting.function_id not in (None, function_id):
            continue
        real = find_property(spec, setting.name)
        if real is None:
            continue
        value = coerce(setting.value, properties(spec)[real], f"{setting.source} {function_id}.{real}")
        if real in wanted and wanted[real] == value:
            continue
        if real not in wanted and properties(spec)[real].get("default") == value and real not in changed:
            # Equal to the default and never stored: storing it would change nothing Open WebUI does.
            continue
        wanted[real] = value
        if real not in changed:
            changed.append(real)
    return wanted, changed


def unmatched(settings: list[ValveSetting], specs: Mapping[str, Mapping[str, Any] | None]) -> list[ValveSetting]:
    """Required settings that no installed function has a valve for (the installer reports them as errors)."""
    missing = []
    for setting in settings:
        if not setting.required:
            continue
        targets = [setting.function_id] if setting.function_id else list(specs)
        if not any(t in specs and find_property(specs[t], setting.name) for t in targets):
            missing.append(setting)
    return missing
