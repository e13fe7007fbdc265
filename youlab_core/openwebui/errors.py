"""The error an Open WebUI REST call raises: the HTTP status and Open WebUI's own `detail` text."""

from __future__ import annotations

from typing import Any

from ..errors import YoulabError
from ..transient import transient_status


class OpenWebUIError(YoulabError):
    """A call to Open WebUI failed. `status` is the HTTP status (0 when the server could not be reached).

    Transient (worth retrying) when Open WebUI could not be reached, or answered 408, 409, 425, 429 or 5xx; the
    client says otherwise for a transport error that will not pass by itself (an unsupported URL scheme).
    """

    def __init__(self, method: str, path: str, status: int, detail: Any, *, transient: bool | None = None,
                 retry_after: float | None = None):
        self.method = method
        self.path = path
        self.status = status
        self.detail = detail
        where = f"{method} {path}"
        if transient is None:
            transient = transient_status(status)
        if status == 0:
            message = f"Open WebUI is not reachable ({where}): {detail}"
        else:
            message = f"Open WebUI refused {where} (HTTP {status}): {detail_text(detail)}"
        super().__init__(message, transient=transient, retry_after=retry_after)


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
