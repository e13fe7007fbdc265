"""A small threaded JSON-over-HTTP server on the standard library, with the knobs tests need.

The demo model is built on it (the library must not depend on a web framework), and so are the Honcho and Letta
test servers in `tests/servers/`. Subclasses declare routes; this base adds what every one of them needs: a request
log, settable latency per route kind, failure injection (fail the next N requests, or go down), optional bearer auth,
and each service's own error body shape (`error_body`).
"""

from __future__ import annotations

import json
import re
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self
from urllib.parse import parse_qs, urlsplit


class HTTPError(Exception):
    """Raise from a route handler to answer with `status` and the server's error body for `message`."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]  # lower-cased names
    body: bytes
    params: dict[str, str] = field(default_factory=dict)  # named groups of the route pattern

    def json(self) -> Any:
        if not self.body:
            raise HTTPError(400, "request body must be JSON")
        try:
            return json.loads(self.body)
        except (ValueError, UnicodeDecodeError) as exc:
            raise HTTPError(400, f"request body is not valid JSON: {exc}") from None

    def arg(self, name: str, default: str | None = None) -> str | None:
        values = self.query.get(name)
        return values[-1] if values else default


@dataclass
class Response:
    body: Any = None  # JSON-serialisable, or bytes sent as they are
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    stream: Iterator[bytes] | None = None  # sent as it is produced, then the connection is closed


@dataclass
class LoggedRequest:
    method: str
    path: str
    kind: str
    body: Any  # parsed JSON, or None
    time: float  # time.time() when it arrived
    status: int | None = None  # None when the connection was dropped on purpose
    query: dict[str, list[str]] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)  # lower-cased names; credentials redacted
    delay: float = 0.0  # the latency added to this request (set_latency)


@dataclass
class _Failure:
    status: int
    retry_after: float | None
    message: str | None
    drop: bool
    kind: str


Handler = Callable[[Request], Response]


class JSONServer:
    """Base class. Subclasses implement `routes()` and may override `error_body()`."""

    def __init__(
        self, host: str = "127.0.0.1", port: int = 0, *, api_key: str | None = None, max_logged: int = 100_000
    ):
        self.host = host
        self.port = port
        self.api_key = api_key
        self.max_logged = max_logged  # oldest entries dropped beyond this: a long-running server must not grow
        self.requests: list[LoggedRequest] = []
        self.latency: dict[str, float] = {}  # route kind (or "*" for every request) -> seconds added
        self._failures: list[_Failure] = []
        self.in_flight = 0  # requests being handled now, and the most seen at once (did clients overlap?)
        self.max_in_flight = 0
        self._outage: str | None = None  # None (up), "503" or "close"
        self._lock = threading.Lock()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._connections: set[socket.socket] = set()
        self._routes = [(method, re.compile(pattern), handler, kind) for method, pattern, handler, kind in self.routes()]

    # --- to override -------------------------------------------------------------------------------------------
    def routes(self) -> list[tuple[str, str, Handler, str]]:
        """(method, path regex with named groups, handler, kind) tuples; kind names the route for latency/failures."""
        raise NotImplementedError

    def error_body(self, status: int, message: str) -> Any:
        return {"detail": message}

    # --- lifecycle ---------------------------------------------------------------------------------------------
    def start(self) -> Self:
        server: JSONServer = self

        class _Handler(_RequestHandler):
            owner = server

        self._httpd = _HTTPServer((self.host, self.port), _Handler)
        self.port = self._httpd.server_address[1]
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, name=type(self).__name__, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is None:
            return
        self._httpd.shutdown()
        self._httpd.server_close()
        self._close_connections()
        self._httpd = None

    def __enter__(self) -> JSONServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    # --- test controls -----------------------------------------------------------------------------------------
    def set_latency(self, seconds: float, kind: str = "*") -> None:
        self.latency[kind] = seconds

    def fail_next(
        self,
        n: int = 1,
        *,
        status: int = 500,
        retry_after: float | None = None,
        message: str | None = None,
        drop: bool = False,
        kind: str = "*",
    ) -> None:
        """The next `n` requests (of route `kind`, or any) fail with `status`, or drop the connection if `drop`."""
        with self._lock:
            self._failures.extend(_Failure(status, retry_after, message, drop, kind) for _ in range(n))

    def down(self, *, close: bool = False) -> None:
        """Every request fails with 503 until `up()`; with `close`, connections are dropped without an answer."""
        self._outage = "close" if close else "503"
        if close:
            self._close_connections()

    def up(self) -> None:
        self._outage = None

    def calls(self, kind: str) -> list[LoggedRequest]:
        with self._lock:
            return [r for r in self.requests if r.kind == kind]

    # --- internals ---------------------------------------------------------------------------------------------
    def _close_connections(self) -> None:
        with self._lock:
            connections = list(self._connections)
        for conn in connections:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def _take_failure(self, kind: str) -> _Failure | None:
        with self._lock:
            for index, failure in enumerate(self._failures):
                if failure.kind in ("*", kind):
                    return self._failures.pop(index)
        return None

    def _match(self, method: str, path: str) -> tuple[Handler, str, dict[str, str]]:
        allowed = False
        for route_method, pattern, handler, kind in self._routes:
            found = pattern.fullmatch(path)
            if found:
                if route_method == method:
                    return handler, kind, found.groupdict()
                allowed = True
        if allowed:
            raise HTTPError(405, "Method Not Allowed")
        raise HTTPError(404, "Not Found")

    def _process(self, request: Request) -> Response | None:
        """The response for `request`, or None to drop the connection."""
        try:
            handler, kind, params = self._match(request.method, request.path)
        except HTTPError as exc:
            self._log(request, "unknown", exc.status)
            return self._error(exc)
        request.params = params
        entry = self._log(request, kind, None)
        with self._lock:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            response = self._respond(request, handler, kind, entry)
        finally:
            with self._lock:
                self.in_flight -= 1
        entry.status = None if response is None else response.status
        return response

    def _respond(self, request: Request, handler: Handler, kind: str, entry: LoggedRequest) -> Response | None:
        if self._outage is not None:
            return None if self._outage == "close" else self._error(HTTPError(503, "Service Unavailable"))
        failure = self._take_failure(kind)
        if failure is not None:
            if failure.drop:
                return None
            headers = {"Retry-After": _format_seconds(failure.retry_after)} if failure.retry_after is not None else {}
            return self._error(HTTPError(failure.status, failure.message or _reason(failure.status), headers))
        delay = self.latency.get("*", 0.0) + self.latency.get(kind, 0.0)
        if delay > 0:
            entry.delay = delay
            time.sleep(delay)
        if self.api_key is not None and request.headers.get("authorization") != f"Bearer {self.api_key}":
            return self._error(HTTPError(401, "Invalid or missing API key"))
        try:
            return handler(request)
        except HTTPError as exc:
            return self._error(exc)

    def _error(self, exc: HTTPError) -> Response:
        return Response(self.error_body(exc.status, exc.message), status=exc.status, headers=dict(exc.headers))

    def _log(self, request: Request, kind: str, status: int | None) -> LoggedRequest:
        try:
            body = json.loads(request.body) if request.body else None
        except ValueError:
            body = None
        headers = {k: ("<redacted>" if k in _SECRET_HEADERS else v) for k, v in request.headers.items()}
        entry = LoggedRequest(request.method, request.path, kind, body, time.time(), status, request.query, headers)
        with self._lock:
            self.requests.append(entry)
            if len(self.requests) > self.max_logged:
                del self.requests[: len(self.requests) - self.max_logged]
        return entry


_SECRET_HEADERS = frozenset({"authorization", "x-api-key", "cookie"})


def _format_seconds(seconds: float) -> str:
    return str(int(seconds)) if float(seconds).is_integer() else str(seconds)


def _reason(status: int) -> str:
    from http import HTTPStatus

    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return f"HTTP {status}"


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256  # many clients connect at once in the benchmarks; the default 5 drops SYNs
    allow_reuse_address = True


class _RequestHandler(BaseHTTPRequestHandler):
    owner: JSONServer
    protocol_version = "HTTP/1.1"  # keep-alive: clients reuse connections, as they do against real services
    disable_nagle_algorithm = True  # headers and body go out in two writes: without this, +40 ms per reply

    def setup(self) -> None:
        super().setup()
        with self.owner._lock:
            self.owner._connections.add(self.connection)

    def finish(self) -> None:
        with self.owner._lock:
            self.owner._connections.discard(self.connection)
        try:
            super().finish()
        except OSError:
            pass

    def log_message(self, format: str, *args: Any) -> None:  # quiet: tests read `requests` instead
        pass

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    self.rfile.readline()
                    break
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            return b"".join(chunks)
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _handle(self) -> None:
        parts = urlsplit(self.path)
        request = Request(
            method=self.command,
            path=parts.path,
            query=parse_qs(parts.query, keep_blank_values=True),
            headers={k.lower(): v for k, v in self.headers.items()},
            body=self._read_body(),
        )
        response = self.owner._process(request)
        if response is None:
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return
        try:
            self._send(response)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def _send(self, response: Response) -> None:
        self.send_response(response.status)
        if response.stream is not None:
            self.send_header("Content-Type", response.headers.pop("Content-Type", "text/event-stream"))
            self.send_header("Cache-Control", "no-cache")
            self.send_header("Connection", "close")
            for name, value in response.headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.close_connection = True
            for chunk in response.stream:
                self.wfile.write(chunk)
                self.wfile.flush()
            return
        if isinstance(response.body, bytes):
            payload = response.body
            content_type = "application/octet-stream"
        else:
            payload = json.dumps(response.body).encode()
            content_type = "application/json"
        self.send_header("Content-Type", response.headers.pop("Content-Type", content_type))
        self.send_header("Content-Length", str(len(payload)))
        for name, value in response.headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _handle
