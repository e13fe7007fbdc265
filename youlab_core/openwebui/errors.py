"""The error an Open WebUI REST call raises: the HTTP status and Open WebUI's own `detail` text."""

from __future__ import annotations

from typing import Any

from ..errors import YoulabError


class OpenWebUIError(YoulabError):
    """A call to Open WebUI failed. `status` is the HTTP status (0 when the server could not be reached)."""

    def __init__(self, method: str, path: str, status: int, detail: Any):
        self.method = method
        self.path = path
        self.status = status
        self.detail = detail
        where = f"{method} {path}"
        if status == 0:
            super().__init__(f"Open WebUI is not reachable ({where}): {detail}")
        else:
            super().__init__(f"Open WebUI refused {where} (HTTP {status}): {detail_text(detail)}")


def detail_text(detail: Any) -> str:
    """Open WebUI's `detail` as one readable line (it is a string, or pydantic's list of errors for a 422)."""
    if isinstance(detail, list):
        parts = []
        for item in detail:
            if isinstance(item, dict):
                loc = ".".join(str(p) for p in item.get("loc", []) if p != "body")
                parts.append(f"{loc}: {item.get('msg', item)}" if loc else str(item.get("msg", item)))
            else:
                parts.append(str(item))
        return "; ".join(parts)
    return str(detail)
