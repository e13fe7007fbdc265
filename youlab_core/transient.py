"""Which failures are worth retrying: the one rule the runner, the dialectic, the mirror and Letta sync share.

A failure is transient when the same call may succeed later without anyone changing anything: a timeout, a lost or
refused connection, HTTP 408/409/425/429 or 5xx, a rate limit. Our own errors say so themselves
(`YoulabError.transient`); a dependency's exception (httpx, honcho, letta-client, OSError) is classified here by its
type and status. Whatever else reaches `is_transient` is a bug or an unexpected refusal; the caller says what that
means for it (`unknown`): the runner gives up on it, the mirror and Letta sync keep the work queued.
"""

from __future__ import annotations

import email.utils
import errno
import socket
import sys
import time
from types import ModuleType

import httpx

from .errors import YoulabError

# 408 request timeout, 409 conflict (a concurrent write), 425 too early, 429 too many requests; every 5xx too.
TRANSIENT_STATUS = frozenset({408, 409, 425, 429})

# OSError numbers of a network that is down for now. ConnectionError and TimeoutError cover refused, reset,
# aborted, broken pipe and timed out (OSError picks those subclasses from the errno itself).
_NETWORK_ERRNOS = frozenset(
    {errno.ENETUNREACH, errno.EHOSTUNREACH, errno.ENETDOWN, errno.EHOSTDOWN, errno.ENETRESET, errno.EAGAIN}
)


def transient_status(status: int | None) -> bool:
    """An HTTP status worth retrying; 0 is the convention for "the server could not be reached"."""
    if status is None:
        return False
    return status == 0 or status in TRANSIENT_STATUS or status >= 500


def _imported(name: str) -> ModuleType | None:
    """`name` if some code imported it, else None.

    honcho and letta-client (both installed) take about a second each to import and are used only when configured;
    an exception of their types cannot exist before their module was imported, so there is nothing to check then.
    """
    return sys.modules.get(name)


def is_transient(exc: BaseException, *, unknown: bool = False) -> bool:
    """Whether `exc` is worth retrying. `unknown` is the answer for exceptions this rule does not know."""
    if isinstance(exc, YoulabError):
        return exc.transient
    if isinstance(exc, httpx.HTTPStatusError):
        return transient_status(exc.response.status_code)
    if isinstance(exc, (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError, httpx.ProxyError)):
        return True  # RemoteProtocolError: the server dropped the connection mid-reply
    if isinstance(exc, httpx.HTTPError):
        return False  # unsupported scheme, a protocol error on our side, undecodable body, redirect loop
    honcho = _imported("honcho")
    if honcho is not None and isinstance(exc, honcho.HonchoError):
        if isinstance(exc, (honcho.RateLimitError, honcho.ServerError, honcho.TimeoutError, honcho.ConnectionError)):
            return True
        return isinstance(exc, honcho.APIError) and transient_status(exc.status)
    letta = _imported("letta_client")
    if letta is not None and isinstance(exc, letta.LettaError):
        if isinstance(exc, letta.APIConnectionError):
            return True  # APITimeoutError included
        return isinstance(exc, letta.APIStatusError) and transient_status(exc.status_code)
    if isinstance(exc, (TimeoutError, ConnectionError)):  # asyncio.TimeoutError is TimeoutError
        return True
    if isinstance(exc, socket.gaierror):
        return exc.errno == socket.EAI_AGAIN  # "temporary failure in name resolution"; a wrong host name is not
    if isinstance(exc, OSError):
        return exc.errno in _NETWORK_ERRNOS
    return unknown


def retry_after_of(exc: BaseException) -> float | None:
    """Seconds the service asked us to wait before retrying (its Retry-After), when it said."""
    if isinstance(exc, YoulabError):
        return exc.retry_after
    if isinstance(exc, httpx.HTTPStatusError):
        return parse_retry_after(exc.response.headers.get("retry-after"))
    honcho, letta = _imported("honcho"), _imported("letta_client")
    if honcho is not None and isinstance(exc, honcho.RateLimitError):
        return exc.retry_after
    if letta is not None and isinstance(exc, letta.APIStatusError):
        return parse_retry_after(exc.response.headers.get("retry-after"))
    return None


def parse_retry_after(value: str | None) -> float | None:
    """A Retry-After header as seconds from now (it holds seconds, or an HTTP date); None if absent or unreadable."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())
