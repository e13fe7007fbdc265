"""A local Honcho v3 server for tests: stores workspaces, peers, sessions and messages, and answers the dialectic
(`POST .../peers/{peer}/chat`) from the stored messages, with the demo model's lexical scoring.

It follows the wire protocol the `honcho-ai` 2.7 SDK speaks (see shared/reference/honcho-letta.md): get-or-create
POSTs, paged list endpoints (`?page=&size=` -> `{items, page, size, total, pages}`), message batches of 1..100,
ids matching `^[a-zA-Z0-9_-]+$` (<= 512 chars) or 422, errors as `{"detail": ...}` (validation errors as FastAPI's
list of `{loc, msg, type}`), optional bearer auth. What real Honcho derives in the background (representations,
summaries) is not modelled: the dialectic reads the raw messages, which is what the tests need to check scoping.
"""

from __future__ import annotations

import itertools
import math
import re
import threading
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from youlab_core.demo_model import NOTHING_KNOWN_REPLY
from youlab_core.demo_model.answers import answer_from_texts
from youlab_core.demo_model.http import HTTPError, JSONServer, Request, Response
from youlab_core.demo_model.scoring import count_tokens

from .common import ValidationFailed, int_arg, matches

ID_RE = re.compile(r"^[a-zA-Z0-9_-]+$")
MAX_ID = 512
MAX_BATCH = 100
MAX_PAGE_SIZE = 100
_ID = r"(?P<{}>[^/]+)"
_WS = "/v3/workspaces/" + _ID.format("ws")


def _now() -> str:
    return datetime.now(timezone.utc).isoformat().replace("+00:00", "Z")


@dataclass
class HonchoStore:
    workspaces: dict[str, dict] = field(default_factory=dict)
    peers: dict[tuple[str, str], dict] = field(default_factory=dict)
    sessions: dict[tuple[str, str], dict] = field(default_factory=dict)
    session_peers: dict[tuple[str, str], dict[str, dict]] = field(default_factory=dict)
    messages: dict[tuple[str, str], list[dict]] = field(default_factory=dict)

    def all_messages(self, workspace: str) -> list[dict]:
        found = [m for (ws, _), items in self.messages.items() if ws == workspace for m in items]
        return sorted(found, key=lambda m: m["_seq"])


class HonchoTestServer(JSONServer):
    """Route kinds for `set_latency`/`fail_next`: "workspace", "peer", "session", "messages", "chat", "list"."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, *, api_key: str | None = None):
        self.store = HonchoStore()
        self._data_lock = threading.RLock()
        self._seq = itertools.count(1)
        super().__init__(host, port, api_key=api_key)

    def routes(self):
        p = _ID.format
        routes = [
            ("POST", "/v3/workspaces", self._workspace_get_or_create, "workspace"),
            ("POST", "/v3/workspaces/list", self._workspace_list, "list"),
            ("DELETE", _WS, self._workspace_delete, "workspace"),
            ("POST", _WS + "/peers", self._peer_get_or_create, "peer"),
            ("POST", _WS + "/peers/list", self._peer_list, "list"),
            ("PUT", _WS + "/peers/" + p("peer"), self._peer_update, "peer"),
            ("POST", _WS + "/peers/" + p("peer") + "/chat", self._chat, "chat"),
            ("POST", _WS + "/peers/" + p("peer") + "/sessions", self._peer_sessions, "list"),
            ("POST", _WS + "/sessions", self._session_get_or_create, "session"),
            ("POST", _WS + "/sessions/list", self._session_list, "list"),
            ("PUT", _WS + "/sessions/" + p("sid"), self._session_update, "session"),
            ("DELETE", _WS + "/sessions/" + p("sid"), self._session_delete, "session"),
            ("GET", _WS + "/sessions/" + p("sid") + "/peers", self._session_peers_get, "session"),
            ("POST", _WS + "/sessions/" + p("sid") + "/peers", self._session_peers_add, "session"),
            ("PUT", _WS + "/sessions/" + p("sid") + "/peers", self._session_peers_set, "session"),
            ("DELETE", _WS + "/sessions/" + p("sid") + "/peers", self._session_peers_remove, "session"),
            ("POST", _WS + "/sessions/" + p("sid") + "/messages", self._messages_add, "messages"),
            ("POST", _WS + "/sessions/" + p("sid") + "/messages/list", self._messages_list, "list"),
            ("GET", _WS + "/sessions/" + p("sid") + "/messages/" + p("mid"), self._message_get, "messages"),
        ]
        return [(method, pattern, self._with_validation(handler), kind) for method, pattern, handler, kind in routes]

    def error_body(self, status: int, message: str) -> Any:
        return {"detail": message}

    def _with_validation(self, handler):
        """Path ids are checked like Honcho's (422), validation errors get FastAPI's list-shaped detail, and the
        store is changed by one request at a time."""

        def wrapped(request: Request) -> Response:
            try:
                for name, value in request.params.items():
                    _check_id(value, ["path", name])
                with self._data_lock:
                    return handler(request)
            except ValidationFailed as exc:
                return Response({"detail": exc.detail}, status=422)

        return wrapped

    # --- helpers -----------------------------------------------------------------------------------------------
    def _body(self, request: Request) -> dict:
        body = request.json()
        if not isinstance(body, dict):
            raise ValidationFailed(["body"], "Input should be a valid dictionary", "dict_type")
        return body

    def _workspace(self, request: Request) -> str:
        ws = request.params["ws"]
        if ws not in self.store.workspaces:
            raise HTTPError(404, f"Workspace {ws} not found")
        return ws

    def _session(self, request: Request) -> tuple[str, str]:
        key = (self._workspace(request), request.params["sid"])
        if key not in self.store.sessions:
            raise HTTPError(404, f"Session {key[1]} not found in workspace {key[0]}")
        return key

    def _ensure_peer(self, ws: str, peer_id: str, metadata: dict | None = None, configuration: dict | None = None
                     ) -> dict:
        key = (ws, peer_id)
        if key not in self.store.peers:
            self.store.peers[key] = {
                "id": peer_id, "workspace_id": ws, "created_at": _now(),
                "metadata": metadata or {}, "configuration": configuration or {},
            }
        return self.store.peers[key]

    def _page(self, request: Request, items: list[dict]) -> Response:
        page = int_arg(request, "page", 1, minimum=1)
        size = int_arg(request, "size", 50, minimum=1, maximum=MAX_PAGE_SIZE)
        body = request.json() if request.body else {}
        filters = (body or {}).get("filters") if isinstance(body, dict) else None
        if filters:
            items = [item for item in items if matches(item, filters)]
        if request.arg("reverse") in ("true", "True", "1"):
            items = list(reversed(items))
        total = len(items)
        chunk = items[(page - 1) * size : page * size]
        return Response({
            "items": [_public(i) for i in chunk], "page": page, "size": size, "total": total,
            "pages": math.ceil(total / size) if total else 0,
        })

    # --- workspaces --------------------------------------------------------------------------------------------
    def _workspace_get_or_create(self, request: Request) -> Response:
        body = self._body(request)
        ws = _require_id(body, "id")
        if ws not in self.store.workspaces:
            self.store.workspaces[ws] = {
                "id": ws, "metadata": body.get("metadata") or {}, "configuration": body.get("configuration") or {},
                "created_at": _now(),
            }
            return Response(self.store.workspaces[ws], status=201)
        return Response(self.store.workspaces[ws])

    def _workspace_list(self, request: Request) -> Response:
        return self._page(request, list(self.store.workspaces.values()))

    def _workspace_delete(self, request: Request) -> Response:
        ws = self._workspace(request)
        del self.store.workspaces[ws]
        for table in (self.store.peers, self.store.sessions, self.store.session_peers, self.store.messages):
            for key in [k for k in table if k[0] == ws]:
                del table[key]
        return Response(None, status=204)

    # --- peers -------------------------------------------------------------------------------------------------
    def _peer_get_or_create(self, request: Request) -> Response:
        ws = self._workspace(request)
        body = self._body(request)
        peer_id = _require_id(body, "id")
        existed = (ws, peer_id) in self.store.peers
        peer = self._ensure_peer(ws, peer_id, body.get("metadata"), body.get("configuration"))
        return Response(peer, status=200 if existed else 201)

    def _peer_list(self, request: Request) -> Response:
        ws = self._workspace(request)
        return self._page(request, [p for (w, _), p in self.store.peers.items() if w == ws])

    def _peer_update(self, request: Request) -> Response:
        ws = self._workspace(request)
        body = self._body(request)
        peer = self._ensure_peer(ws, request.params["peer"])
        if body.get("metadata") is not None:
            peer["metadata"] = body["metadata"]
        if body.get("configuration") is not None:
            peer["configuration"] = body["configuration"]
        return Response(peer)

    def _peer_sessions(self, request: Request) -> Response:
        ws = self._workspace(request)
        peer = request.params["peer"]
        return self._page(request, [
            s for (w, sid), s in self.store.sessions.items()
            if w == ws and peer in self.store.session_peers.get((w, sid), {})
        ])

    # --- sessions ----------------------------------------------------------------------------------------------
    def _session_get_or_create(self, request: Request) -> Response:
        ws = self._workspace(request)
        body = self._body(request)
        sid = _require_id(body, "id")
        key = (ws, sid)
        created = key not in self.store.sessions
        if created:
            self.store.sessions[key] = {
                "id": sid, "is_active": True, "workspace_id": ws, "metadata": body.get("metadata") or {},
                "configuration": body.get("configuration") or {}, "created_at": _now(),
            }
            self.store.session_peers[key] = {}
            self.store.messages[key] = []
        self._add_peers(key, body.get("peers") or {})
        return Response(self.store.sessions[key], status=201 if created else 200)

    def _add_peers(self, key: tuple[str, str], peers: Any) -> None:
        if not isinstance(peers, dict):
            raise ValidationFailed(["body", "peers"], "Input should be a valid dictionary", "dict_type")
        for peer_id, config in peers.items():
            _check_id(peer_id, ["body", "peers", peer_id])
            self._ensure_peer(key[0], peer_id)
            self.store.session_peers[key][peer_id] = config or {}

    def _session_list(self, request: Request) -> Response:
        ws = self._workspace(request)
        return self._page(request, [s for (w, _), s in self.store.sessions.items() if w == ws])

    def _session_update(self, request: Request) -> Response:
        key = self._session(request)
        body = self._body(request)
        for name in ("metadata", "configuration"):
            if body.get(name) is not None:
                self.store.sessions[key][name] = body[name]
        return Response(self.store.sessions[key])

    def _session_delete(self, request: Request) -> Response:
        key = self._session(request)
        self.store.sessions[key]["is_active"] = False
        del self.store.sessions[key]
        self.store.messages.pop(key, None)
        self.store.session_peers.pop(key, None)
        return Response({"message": "Session deleted"}, status=202)

    def _session_peers_get(self, request: Request) -> Response:
        key = self._session(request)
        peers = [self.store.peers[(key[0], p)] for p in self.store.session_peers[key]]
        return self._page(request, peers)

    def _session_peers_add(self, request: Request) -> Response:
        key = self._session(request)
        self._add_peers(key, self._body(request))
        return Response(self.store.sessions[key])

    def _session_peers_set(self, request: Request) -> Response:
        key = self._session(request)
        body = self._body(request)
        self.store.session_peers[key] = {}
        self._add_peers(key, body)
        return Response(self.store.sessions[key])

    def _session_peers_remove(self, request: Request) -> Response:
        key = self._session(request)
        ids = request.json()
        if not isinstance(ids, list):
            raise ValidationFailed(["body"], "Input should be a valid list", "list_type")
        for peer_id in ids:
            self.store.session_peers[key].pop(peer_id, None)
        return Response(self.store.sessions[key])

    # --- messages ----------------------------------------------------------------------------------------------
    def _messages_add(self, request: Request) -> Response:
        key = self._session(request)
        body = self._body(request)
        messages = body.get("messages")
        if not isinstance(messages, list):
            raise ValidationFailed(["body", "messages"], "Field required", "missing")
        if not 1 <= len(messages) <= MAX_BATCH:
            kind = "too_short" if not messages else "too_long"
            raise ValidationFailed(
                ["body", "messages"],
                f"List should have at least 1 item and at most {MAX_BATCH} items, not {len(messages)}",
                kind,
            )
        # validate the whole batch before storing any of it: a refused batch stores nothing
        for index, message in enumerate(messages):
            if not isinstance(message, dict) or not isinstance(message.get("content"), str):
                raise ValidationFailed(["body", "messages", index, "content"], "Input should be a valid string",
                                       "string_type")
            _check_id(message.get("peer_id"), ["body", "messages", index, "peer_id"])
        stored = []
        for message in messages:
            self._ensure_peer(key[0], message["peer_id"])
            self.store.session_peers[key].setdefault(message["peer_id"], {})
            seq = next(self._seq)
            record = {
                "id": f"msg{seq:010d}", "content": message["content"], "peer_id": message["peer_id"],
                "session_id": key[1], "metadata": message.get("metadata") or {},
                "created_at": message.get("created_at") or _now(), "workspace_id": key[0],
                "token_count": count_tokens(message["content"]), "_seq": seq,
            }
            self.store.messages[key].append(record)
            stored.append(_public(record))
        return Response(stored, status=201)

    def _messages_list(self, request: Request) -> Response:
        key = self._session(request)
        return self._page(request, self.store.messages[key])

    def _message_get(self, request: Request) -> Response:
        key = self._session(request)
        for message in self.store.messages[key]:
            if message["id"] == request.params["mid"]:
                return Response(_public(message))
        raise HTTPError(404, f"Message {request.params['mid']} not found")

    # --- dialectic ---------------------------------------------------------------------------------------------
    def _chat(self, request: Request) -> Response:
        ws = self._workspace(request)
        body = self._body(request)
        peer = request.params["peer"]
        if (ws, peer) not in self.store.peers:
            raise HTTPError(404, f"Peer {peer} not found in workspace {ws}")
        query = body.get("query")
        if not isinstance(query, str) or not query:
            raise ValidationFailed(["body", "query"], "String should have at least 1 character", "string_too_short")
        if body.get("stream"):
            raise HTTPError(400, "streaming is not supported by this test server")
        about = body.get("target") or peer
        _check_id(about, ["body", "target"])
        return Response({"content": self.dialectic_answer(ws, about, query, self._chat_sessions(ws, body))})

    def _chat_sessions(self, ws: str, body: dict) -> set[str] | None:
        """The session ids the question may read (None: all of them)."""
        if body.get("scope") is not None:
            raise HTTPError(400, "named scopes are not supported by this test server")
        selected: set[str] | None = None
        if body.get("session_id"):
            _check_id(body["session_id"], ["body", "session_id"])
            selected = {body["session_id"]}
        allow = (body.get("filters") or {}).get("session_id")
        if allow is not None:
            allowed = set(allow if isinstance(allow, list) else [allow])
            selected = allowed if selected is None else selected & allowed
        for sid in selected or ():
            if (ws, sid) not in self.store.sessions:
                raise HTTPError(404, f"Session {sid} not found in workspace {ws}")
        return selected

    def dialectic_answer(self, ws: str, peer: str, query: str, sessions: set[str] | None) -> str | None:
        """What `peer` said in `sessions` (None = all) that relates to `query`; None when they said nothing."""
        texts = [
            m["content"] for m in self.store.all_messages(ws)
            if m["peer_id"] == peer and (sessions is None or m["session_id"] in sessions)
        ]
        if not texts:
            return None
        return answer_from_texts(query, texts)


def _check_id(value: Any, loc: list[Any]) -> None:
    if not isinstance(value, str) or not value:
        raise ValidationFailed(loc, "Field required" if value is None else "Input should be a valid string",
                               "missing" if value is None else "string_type")
    if len(value) > MAX_ID:
        raise ValidationFailed(loc, f"String should have at most {MAX_ID} characters", "string_too_long")
    if not ID_RE.match(value):
        raise ValidationFailed(loc, f"String should match pattern '{ID_RE.pattern}'", "string_pattern_mismatch")


def _require_id(body: dict, name: str) -> str:
    value = body.get(name)
    _check_id(value, ["body", name])
    return value


def _public(record: dict) -> dict:
    return {k: v for k, v in record.items() if not k.startswith("_")}


__all__ = ["HonchoTestServer", "HonchoStore", "NOTHING_KNOWN_REPLY"]
