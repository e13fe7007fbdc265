"""The server-side write guard: no HTTP request changes the content of an agent thread, on any route of Open WebUI
0.12.4, whoever sends it. The bundle writes threads in-process (Open WebUI's tables, not HTTP), so it is not affected.

An ASGI middleware in front of Open WebUI's app (installed by the server part of `youlab patch apply`, which adds a
call to `install_write_guard(app)` to Open WebUI's main.py, so it runs in every worker process from the first
request). For each request it matches the method and path against `WRITE_ROUTES`; a match names the chat (from the
path, or from the JSON body for the chat-completion routes), and the read-only guard decides
(`AgentThreadGuard`: registry, meta, folder; fail closed when nothing can be read). A refusal is a 403 with the same
plain sentence the filter uses, before Open WebUI stores anything or calls a model.

Chat completions sent over HTTP also lose the fields only Open WebUI itself sets (`automation_id`): with one, a
client could switch counting, Honcho mirroring and memory off for its own message.

What stays allowed on an agent thread (the student owns their chat list): renaming, moving to a folder, pinning,
archiving, tagging, sharing, cloning, forking and deleting the whole thread, and YouLab's own Actions (the review's
and the views' buttons, youlab_core/bundle/view_models.py), which check the chat and the user themselves. Every
other request passes through untouched, at the cost of one regular-expression match.

The first request of any kind also starts the bundle's background parts (scheduler, Honcho mirror), so they run
from the moment Open WebUI serves requests, not from the first chat message.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import sys
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from typing import Any

from ..guard import read_only_message
from .view_models import youlab_action_ids

log = logging.getLogger(__name__)

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

MAX_BODY_BYTES = 32 * 1024 * 1024  # bodies read to find a chat id; larger ones are refused on these routes

_installed = False


@dataclass(frozen=True)
class WriteRoute:
    """A route that can change a chat's content. `chat_in`: where the chat id is ("path" or "body")."""

    method: str
    pattern: re.Pattern[str]
    chat_in: str
    why: str
    rename_ok: bool = False  # the chat update route: a body that only renames is allowed

    def chat_id(self, path: str) -> str | None:
        match = self.pattern.fullmatch(path)
        if match is None or self.chat_in != "path":
            return None
        chat_id = match.group("chat")
        return None if chat_id in FIXED_CHAT_ROUTES else chat_id


def _route(method: str, path: str, chat_in: str, why: str, *, rename_ok: bool = False) -> WriteRoute:
    regex = "^" + re.sub(r"\{(\w+)\}", lambda m: f"(?P<{m.group(1)}>[^/]+)", path) + "/?$"
    return WriteRoute(method, re.compile(regex), chat_in, why, rename_ok)


CHATS = "/api/v1/chats"
# POST /api/v1/chats/<word> routes that are not a chat id (they create chats or change settings, not a thread).
FIXED_CHAT_ROUTES = frozenset({"new", "import", "config", "tags", "read"})
# Open WebUI 0.12.4's routes that write a chat's history, messages or the JSON they live in (routers/chats.py and
# main.py). Reviewed on every upgrade together with youlab_core/openwebui/internals.py.
WRITE_ROUTES: tuple[WriteRoute, ...] = (
    _route("POST", CHATS + "/{chat}", "path", "chat update (history, messages, models, params)", rename_ok=True),
    _route("POST", CHATS + "/{chat}/messages/{message}", "path", "message update"),
    _route("DELETE", CHATS + "/{chat}/messages/{message}", "path", "message delete"),
    _route("POST", CHATS + "/{chat}/messages/{message}/event", "path", "message event"),
    _route("POST", CHATS + "/{chat}/messages/{message}/resolve", "path", "tool call resolution"),
    _route("POST", CHATS + "/{chat}/compact", "path", "compaction"),
    _route("PATCH", CHATS + "/{chat}/params", "path", "chat parameters"),
    _route("POST", "/api/chat/completions", "body", "chat completion"),
    _route("POST", "/api/v1/chat/completions", "body", "chat completion"),
    _route("POST", "/api/message", "body", "chat completion (Anthropic format)"),
    _route("POST", "/api/v1/messages", "body", "chat completion (Anthropic format)"),
    _route("POST", "/api/chat/completed", "body", "completion outlet"),
    _route("POST", "/api/chat/actions/{action}", "body", "action"),
)

# POST /api/v1/chats/{id} may rename: the only change of a thread's chat JSON anyone may make.
RENAME_KEYS = frozenset({"title"})


def install_write_guard(app: Any) -> None:
    """Add the middleware to Open WebUI's FastAPI app (called from the patched main.py, once per process)."""
    global _installed
    app.add_middleware(WriteGuardMiddleware)
    _installed = True
    log.info("YouLab write guard installed: agent threads are read-only on every route")


def write_guard_installed() -> bool:
    """Whether this process runs the write guard (the bundle tells admins when it does not)."""
    return _installed


UNPROTECTED = ("Agent threads are not protected against edits through Open WebUI's chat API (the server part of the "
               "YouLab patch is not applied): run `youlab patch apply` and restart Open WebUI.")


def unprotected_notice() -> str | None:
    """What admins read on the agent models when this Open WebUI process runs without the write guard."""
    return UNPROTECTED if "open_webui.main" in sys.modules and not _installed else None


GuardLookup = Callable[[str, str | None], Awaitable[Any]]  # (chat id, requested model) -> AgentThreadInfo | None


async def _bundle_lookup(chat_id: str, model_id: str | None) -> Any:
    from .context import current_bundle

    bundle = await current_bundle()  # no valve read per request; an unreadable setting fails closed (503)
    await bundle.start()
    return await bundle.guard.is_agent_thread(chat_id, None, model_id=model_id)


async def _start_background() -> None:
    from .context import bundle_for
    from .valves import stored_filter_settings

    try:
        bundle = bundle_for(await stored_filter_settings(), settings_source=stored_filter_settings)
        await bundle.start()
    except Exception:
        log.exception("YouLab's background parts could not start with the first request; the next chat tries again")


class WriteGuardMiddleware:
    def __init__(self, app: ASGIApp, lookup: GuardLookup | None = None, *, start_background: bool = True):
        self.app = app
        self.lookup = lookup or _bundle_lookup
        self._start_background = start_background
        self._started: asyncio.Task[None] | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if self._start_background and self._started is None:
            self._started = asyncio.get_running_loop().create_task(_start_background(), name="youlab-start")
        method, path = scope.get("method", ""), scope.get("path", "")
        route = next((r for r in WRITE_ROUTES if r.method == method and r.pattern.fullmatch(path)), None)
        if route is None:
            await self.app(scope, receive, send)
            return
        body, receive = await _buffer(receive)
        if body is None:
            await _refuse(send, 413, "The request is too large.")
            return
        data = _json(body)  # parsed once: chat completions pass here on every message
        if route.chat_in == "body":
            receive, scope = _without_server_only_fields(data, receive, scope)
        chat_id, model_id, allowed = _target(route, path, data)
        if allowed or not chat_id:
            await self.app(scope, receive, send)
            return
        try:
            info = await self.lookup(chat_id, model_id)
        except Exception:
            # Fail closed: a write we cannot check is refused (reads and every other route are unaffected).
            log.exception("YouLab write guard: could not check chat %s; the %s is refused", chat_id, route.why)
            await _refuse(send, 503, "This chat cannot be changed right now; try again in a moment.")
            return
        if info is None:
            await self.app(scope, receive, send)
            return
        log.info("refused a %s of agent thread %s (%s)", route.why, chat_id, ",".join(info.sources))
        await _refuse(send, 403, read_only_message(info))


def _target(route: WriteRoute, path: str, data: Any) -> tuple[str | None, str | None, bool]:
    """(chat id, requested model, allowed whatever the chat is), from the route and the parsed body."""
    if route.chat_in == "path":
        chat_id = route.chat_id(path)
        if route.rename_ok and isinstance(data, dict):
            chat = data.get("chat")
            renaming = (isinstance(chat, dict) and set(chat) <= RENAME_KEYS and data.get("variables") is None
                        and data.get("folder_id") is None)
            return chat_id, None, renaming
        return chat_id, None, False
    if not isinstance(data, dict):
        return None, None, False  # no chat named: Open WebUI stores nothing in a chat for it
    chat_id = data.get("chat_id")
    metadata = data.get("metadata")
    if not chat_id and isinstance(metadata, dict):
        chat_id = metadata.get("chat_id")
    model = data.get("model")
    if route.why == "action":
        action = path.rstrip("/").rsplit("/", 1)[-1]
        if action.split(".", 1)[0] in youlab_action_ids():  # the review and the views' Actions check the chat
            return str(chat_id) if chat_id else None, None, True
    return (str(chat_id) if isinstance(chat_id, str) and chat_id else None,
            str(model) if isinstance(model, str) else None, False)


# Fields only Open WebUI itself sets on a chat completion (its automations call the handler in-process, never over
# HTTP). A client sending one would switch YouLab's counting, Honcho mirroring and memory off for its message.
SERVER_ONLY_FIELDS = ("automation_id",)


def _without_server_only_fields(data: Any, receive: Receive, scope: Scope) -> tuple[Receive, Scope]:
    """Drops SERVER_ONLY_FIELDS from `data` (in place) and returns what replays the cleaned body to the app."""
    if not isinstance(data, dict) or not any(f in data for f in SERVER_ONLY_FIELDS):
        return receive, scope
    for name in SERVER_ONLY_FIELDS:
        data.pop(name, None)
    cleaned = json.dumps(data).encode()
    headers = [(k, v) for k, v in scope.get("headers", []) if k.lower() != b"content-length"]
    headers.append((b"content-length", str(len(cleaned)).encode()))
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": cleaned, "more_body": False}
        return await receive()

    return replay, {**scope, "headers": headers}


def _json(body: bytes) -> Any:
    try:
        return json.loads(body) if body else None
    except ValueError:
        return None  # Open WebUI answers a malformed body itself


async def _buffer(receive: Receive) -> tuple[bytes | None, Receive]:
    """Read the whole body, and a receive() that replays it to the app."""
    chunks: list[bytes] = []
    size = 0
    messages: list[Message] = []
    while True:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            return None, receive
        chunks.append(chunk)
        if not message.get("more_body", False):
            break

    async def replay() -> Message:
        if messages:
            return messages.pop(0)
        return await receive()

    return b"".join(chunks), replay


async def _refuse(send: Send, status: int, text: str) -> None:
    payload = json.dumps({"detail": text}).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())]})
    await send({"type": "http.response.body", "body": payload})
