"""What the Honcho and Letta test servers share: FastAPI-shaped validation errors and small query helpers."""

from __future__ import annotations

from typing import Any

from youlab_core.demo_model.http import HTTPError, Request


class ValidationFailed(HTTPError):
    """422 with FastAPI's body shape: {"detail": [{"loc": [...], "msg": ..., "type": ...}]} (both services use it)."""

    def __init__(self, loc: list[Any], msg: str, kind: str = "value_error"):
        super().__init__(422, msg)
        self.detail = [{"loc": loc, "msg": msg, "type": kind}]


def int_arg(request: Request, name: str, default: int, *, minimum: int, maximum: int | None = None) -> int:
    raw = request.arg(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ValidationFailed(["query", name], "Input should be a valid integer", "int_parsing") from None
    if value < minimum or (maximum is not None and value > maximum):
        raise ValidationFailed(["query", name], f"Input should be between {minimum} and {maximum}", "less_than_equal")
    return value


def matches(item: dict, filters: dict) -> bool:
    """Honcho-style list filters: equality, membership for a list, subset match for `metadata`."""
    for key, wanted in filters.items():
        if key == "metadata" and isinstance(wanted, dict):
            meta = item.get("metadata") or {}
            if any(meta.get(k) != v for k, v in wanted.items()):
                return False
        elif isinstance(wanted, list):
            if item.get(key) not in wanted:
                return False
        elif item.get(key) != wanted:
            return False
    return True
