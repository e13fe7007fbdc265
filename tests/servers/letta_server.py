"""A local Letta v1 server for tests: agents with core-memory blocks, and the shared `/v1/blocks` store.

It follows the wire protocol the `letta-client` 1.12 SDK speaks (see shared/reference/honcho-letta.md): list
endpoints return a JSON array and are paged by `?after=<last id>` (and `before`, `limit`, `order`) until an empty
page; `tags` arrive as repeated query parameters; a missing agent, block or label is 404 `{"detail": "..."}`;
validation errors are FastAPI's 422 list. Blocks are shared objects, as in Letta: an agent holds block ids, and
updating an agent's block by label changes the block every attached agent sees.
"""

from __future__ import annotations

import itertools
import threading
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from youlab_core.demo_model.http import HTTPError, JSONServer, Request, Response

from .common import ValidationFailed as Invalid
from .common import int_arg

DEFAULT_BLOCK_LIMIT = 20_000  # Letta's CORE_MEMORY_BLOCK_CHAR_LIMIT
_ID = r"(?P<{}>[^/]+)"


def _now() -> str:
    return datetime.now(timezone.utc).isoformat().replace("+00:00", "Z")


@dataclass
class LettaStore:
    agents: dict[str, dict] = field(default_factory=dict)  # id -> agent record (block ids, not blocks)
    blocks: dict[str, dict] = field(default_factory=dict)  # id -> block
    order: dict[str, int] = field(default_factory=dict)  # id -> creation sequence (list order)

    def agent_blocks(self, agent: dict) -> list[dict]:
        return [self.blocks[b] for b in agent["block_ids"] if b in self.blocks]


class LettaTestServer(JSONServer):
    """Route kinds: "agents", "blocks" (core memory and /v1/blocks). `page_limit` caps every page (default 50)."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, *, api_key: str | None = None, page_limit: int = 50):
        self.store = LettaStore()
        self.page_limit = page_limit
        self._data_lock = threading.RLock()
        self._seq = itertools.count(1)
        super().__init__(host, port, api_key=api_key)

    def routes(self):
        a = "/v1/agents/" + _ID.format("agent")
        core = a + "/core-memory/blocks"
        b = "/v1/blocks/" + _ID.format("block")
        routes = [
            ("POST", "/v1/agents/?", self._agent_create, "agents"),
            ("GET", "/v1/agents/?", self._agent_list, "agents"),
            ("GET", a + "/?", self._agent_get, "agents"),
            ("DELETE", a + "/?", self._agent_delete, "agents"),
            ("GET", core + "/?", self._core_list, "blocks"),
            ("PATCH", core + "/attach/" + _ID.format("block") + "/?", self._core_attach, "blocks"),
            ("PATCH", core + "/detach/" + _ID.format("block") + "/?", self._core_detach, "blocks"),
            ("GET", core + "/" + _ID.format("label") + "/?", self._core_get, "blocks"),
            ("PATCH", core + "/" + _ID.format("label") + "/?", self._core_update, "blocks"),
            ("POST", "/v1/blocks/?", self._block_create, "blocks"),
            ("GET", "/v1/blocks/?", self._block_list, "blocks"),
            ("GET", b + "/?", self._block_get, "blocks"),
            ("PATCH", b + "/?", self._block_update, "blocks"),
            ("DELETE", b + "/?", self._block_delete, "blocks"),
        ]
        return [(m, p, self._locked(h), k) for m, p, h, k in routes]

    def _locked(self, handler):
        def wrapped(request: Request) -> Response:
            try:
                with self._data_lock:
                    return handler(request)
            except Invalid as exc:
                return Response({"detail": exc.detail}, status=422)

        return wrapped

    # --- helpers -----------------------------------------------------------------------------------------------
    def _body(self, request: Request) -> dict:
        body = request.json()
        if not isinstance(body, dict):
            raise Invalid(["body"], "Input should be a valid dictionary", "dict_type")
        return body

    def _agent(self, request: Request) -> dict:
        agent_id = request.params["agent"]
        agent = self.store.agents.get(agent_id)
        if agent is None:
            raise HTTPError(404, f"Agent with id {agent_id} not found")
        return agent

    def _agent_view(self, agent: dict) -> dict:
        blocks = self.store.agent_blocks(agent)
        view = {k: v for k, v in agent.items() if k != "block_ids"}
        view["blocks"] = blocks
        view["memory"] = {"blocks": blocks, "file_blocks": [], "agent_type": agent["agent_type"]}
        return view

    def _new_block(self, spec: Any, loc: list[Any]) -> dict:
        if not isinstance(spec, dict):
            raise Invalid(loc, "Input should be a valid dictionary", "dict_type")
        label, value = spec.get("label"), spec.get("value")
        if not isinstance(label, str) or not label:
            raise Invalid([*loc, "label"], "Field required", "missing")
        if not isinstance(value, str):
            raise Invalid([*loc, "value"], "Field required", "missing")
        limit = spec.get("limit") or DEFAULT_BLOCK_LIMIT
        _check_limit(value, limit)
        block_id = f"block-{uuid.uuid4()}"
        block = {
            "id": block_id, "label": label, "value": value, "limit": limit,
            "description": spec.get("description"), "metadata": spec.get("metadata") or {},
            "read_only": bool(spec.get("read_only", False)), "is_template": False, "tags": spec.get("tags") or [],
            "created_at": _now(), "updated_at": _now(),
        }
        self.store.blocks[block_id] = block
        self.store.order[block_id] = next(self._seq)
        return block

    def _page(self, request: Request, items: list[dict]) -> Response:
        """Cursor paging like Letta: order by creation, then `after`/`before` an id, then `limit`."""
        descending = request.arg("order") == "desc" or request.arg("ascending") in ("false", "False")
        items = sorted(items, key=lambda i: self.store.order[i["id"]], reverse=descending)
        ids = [i["id"] for i in items]
        after, before = request.arg("after"), request.arg("before")
        if after is not None:
            items = items[ids.index(after) + 1 :] if after in ids else []
        if before is not None:
            ids = [i["id"] for i in items]
            items = items[: ids.index(before)] if before in ids else []
        limit = min(int_arg(request, "limit", 50, minimum=1), self.page_limit)
        chunk = items[-limit:] if before is not None and after is None else items[:limit]
        return Response(chunk)

    # --- agents ------------------------------------------------------------------------------------------------
    def _agent_create(self, request: Request) -> Response:
        body = self._body(request)
        tags = body.get("tags") or []
        if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
            raise Invalid(["body", "tags"], "Input should be a valid list of strings", "list_type")
        specs = body.get("memory_blocks") or []
        if not isinstance(specs, list):
            raise Invalid(["body", "memory_blocks"], "Input should be a valid list", "list_type")
        block_ids = [self._new_block(s, ["body", "memory_blocks", i])["id"] for i, s in enumerate(specs)]
        for block_id in body.get("block_ids") or []:
            if block_id not in self.store.blocks:
                raise HTTPError(404, f"Block with id {block_id} not found")
            block_ids.append(block_id)
        seq = next(self._seq)
        agent_id = f"agent-{uuid.uuid4()}"
        agent = {
            "id": agent_id, "name": body.get("name") or f"agent-{seq}", "tags": tags,
            "metadata": body.get("metadata") or {}, "description": body.get("description"),
            "agent_type": body.get("agent_type") or "letta_v1_agent", "system": body.get("system") or "",
            "created_at": _now(), "updated_at": _now(), "tools": [], "sources": [], "block_ids": block_ids,
            "llm_config": None, "embedding_config": None,
        }
        self.store.agents[agent_id] = agent
        self.store.order[agent_id] = seq
        return Response(self._agent_view(agent), status=201)

    def _agent_list(self, request: Request) -> Response:
        agents = list(self.store.agents.values())
        name = request.arg("name")
        if name is not None:
            agents = [a for a in agents if a["name"] == name]
        query_text = request.arg("query_text")
        if query_text:
            agents = [a for a in agents if query_text.lower() in a["name"].lower()]
        tags = request.query.get("tags") or []
        if tags:
            match_all = request.arg("match_all_tags") in ("true", "True", "1")
            test = all if match_all else any
            agents = [a for a in agents if test(t in a["tags"] for t in tags)]
        return Response([self._agent_view(a) for a in self._page(request, agents).body])

    def _agent_get(self, request: Request) -> Response:
        return Response(self._agent_view(self._agent(request)))

    def _agent_delete(self, request: Request) -> Response:
        agent = self._agent(request)
        del self.store.agents[agent["id"]]
        return Response(None)

    # --- core memory -------------------------------------------------------------------------------------------
    def _core_list(self, request: Request) -> Response:
        return self._page(request, self.store.agent_blocks(self._agent(request)))

    def _core_block(self, request: Request) -> dict:
        agent = self._agent(request)
        label = request.params["label"]
        for block in self.store.agent_blocks(agent):
            if block["label"] == label:
                return block
        raise HTTPError(404, f"Block with label '{label}' not found in agent '{agent['id']}'")

    def _core_get(self, request: Request) -> Response:
        return Response(self._core_block(request))

    def _core_update(self, request: Request) -> Response:
        return Response(self._update(self._core_block(request), self._body(request)))

    def _core_attach(self, request: Request) -> Response:
        agent = self._agent(request)
        block_id = request.params["block"]
        if block_id not in self.store.blocks:
            raise HTTPError(404, f"Block with id {block_id} not found")
        if block_id not in agent["block_ids"]:
            agent["block_ids"].append(block_id)
        return Response(self._agent_view(agent))

    def _core_detach(self, request: Request) -> Response:
        agent = self._agent(request)
        block_id = request.params["block"]
        if block_id in agent["block_ids"]:
            agent["block_ids"].remove(block_id)
        return Response(self._agent_view(agent))

    # --- /v1/blocks --------------------------------------------------------------------------------------------
    def _block(self, request: Request) -> dict:
        block = self.store.blocks.get(request.params["block"])
        if block is None:
            raise HTTPError(404, f"Block with id {request.params['block']} not found")
        return block

    def _block_create(self, request: Request) -> Response:
        return Response(self._new_block(self._body(request), ["body"]))

    def _block_list(self, request: Request) -> Response:
        blocks = list(self.store.blocks.values())
        label = request.arg("label")
        if label is not None:
            blocks = [b for b in blocks if b["label"] == label]
        return self._page(request, blocks)

    def _block_get(self, request: Request) -> Response:
        return Response(self._block(request))

    def _block_update(self, request: Request) -> Response:
        return Response(self._update(self._block(request), self._body(request)))

    def _block_delete(self, request: Request) -> Response:
        block = self._block(request)
        del self.store.blocks[block["id"]]
        for agent in self.store.agents.values():
            if block["id"] in agent["block_ids"]:
                agent["block_ids"].remove(block["id"])
        return Response(None)

    def _update(self, block: dict, body: dict) -> dict:
        if block.get("read_only") and "value" in body:
            raise HTTPError(403, f"Block {block['id']} is read-only")
        limit = body.get("limit") or block["limit"]
        if "value" in body:
            if not isinstance(body["value"], str):
                raise Invalid(["body", "value"], "Input should be a valid string", "string_type")
            _check_limit(body["value"], limit)
        for name in ("value", "limit", "label", "description", "metadata"):
            if name in body and body[name] is not None:
                block[name] = body[name]
        block["updated_at"] = _now()
        return block


def _check_limit(value: str, limit: int) -> None:
    if len(value) > limit:
        raise HTTPError(
            400, f"Edit failed: Exceeds {limit} character limit (requested {len(value)})"
        )


__all__ = ["LettaTestServer", "LettaStore", "DEFAULT_BLOCK_LIMIT"]
