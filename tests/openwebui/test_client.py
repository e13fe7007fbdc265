"""The client's own logic (errors, not-found mapping, read-before-toggle, valve merging) over httpx's
MockTransport. What Open WebUI really answers is covered by tests/e2e/test_install_e2e.py."""

from __future__ import annotations

import json

import httpx
import pytest

from youlab_core.openwebui import OpenWebUIClient, OpenWebUIError

NOT_FOUND = "We could not find what you're looking for :/"


class FakeServer:
    def __init__(self) -> None:
        self.function = {"id": "youlab_filter", "type": "filter", "is_active": False, "is_global": True}
        self.valves: dict = {"a": 1}
        self.calls: list[tuple[str, str, object]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content) if request.content else None
        self.calls.append((request.method, request.url.path, body))
        path = request.url.path
        if path == "/api/v1/functions/id/missing":
            return httpx.Response(401, json={"detail": NOT_FOUND})
        if path == "/api/v1/functions/id/youlab_filter":
            if request.headers.get("authorization") != "Bearer t":
                return httpx.Response(401, json={"detail": "401 Unauthorized"})
            return httpx.Response(200, json=self.function)
        if path == "/api/v1/functions/id/youlab_filter/toggle":
            self.function = {**self.function, "is_active": not self.function["is_active"]}
            return httpx.Response(200, json=self.function)
        if path == "/api/v1/functions/id/youlab_filter/toggle/global":
            self.function = {**self.function, "is_global": not self.function["is_global"]}
            return httpx.Response(200, json=self.function)
        if path == "/api/v1/functions/id/youlab_filter/valves":
            return httpx.Response(200, json=self.valves)
        if path == "/api/v1/functions/id/youlab_filter/valves/update":
            self.valves = body
            return httpx.Response(200, json=body)
        if path == "/api/v1/models/model":
            return httpx.Response(404, json={"detail": NOT_FOUND})
        if path == "/api/v1/auths/signin":
            return httpx.Response(400, json={"detail": "The email or password provided is incorrect."})
        if path == "/api/v1/models/create":
            return httpx.Response(422, json={"detail": [{"loc": ["body", "name"], "msg": "Field required"}]})
        return httpx.Response(500, text="Internal Server Error")


def client(server: FakeServer, token: str | None = "t") -> OpenWebUIClient:
    return OpenWebUIClient("http://ow", token=token, transport=httpx.MockTransport(server))


async def test_not_found_is_none_but_unauthorized_raises() -> None:
    server = FakeServer()
    async with client(server) as c:
        assert await c.functions.get("missing") is None
        assert await c.models.get("nope") is None
    async with client(server, token="wrong") as c:
        with pytest.raises(OpenWebUIError) as err:
            await c.functions.get("youlab_filter")
    assert err.value.status == 401 and err.value.detail == "401 Unauthorized"


async def test_toggles_read_state_first() -> None:
    server = FakeServer()
    async with client(server) as c:
        await c.functions.set_active("youlab_filter", True)
        await c.functions.set_active("youlab_filter", True)
        await c.functions.set_global("youlab_filter", True)
    toggles = [path for _, path, _ in server.calls if "toggle" in path]
    assert toggles == ["/api/v1/functions/id/youlab_filter/toggle"]
    assert server.function["is_active"] and server.function["is_global"]


async def test_merge_valves_keeps_the_others() -> None:
    server = FakeServer()
    async with client(server) as c:
        assert await c.functions.merge_valves("youlab_filter", {"b": 2}) == {"a": 1, "b": 2}


async def test_errors_carry_status_and_detail() -> None:
    server = FakeServer()
    async with client(server, token=None) as c:
        with pytest.raises(OpenWebUIError, match="incorrect") as bad_login:
            await c.sign_in("a@b.c", "x")
        with pytest.raises(OpenWebUIError, match=r"HTTP 422\): name: Field required"):
            await c.models.create({})
        with pytest.raises(OpenWebUIError, match="Internal Server Error") as boom:
            await c.request("GET", "/elsewhere")
    assert bad_login.value.status == 400 and boom.value.status == 500


async def test_functions_sync_is_refused_before_sending() -> None:
    server = FakeServer()
    async with client(server) as c:
        with pytest.raises(ValueError, match="deletes every function"):
            await c.request("POST", "/api/v1/functions/sync/", json={})
    assert server.calls == []


async def test_unreachable_server_is_status_0() -> None:
    async with OpenWebUIClient("http://127.0.0.1:9") as c:
        with pytest.raises(OpenWebUIError, match="not reachable") as err:
            await c.functions.list()
        assert await c.health() is False
    assert err.value.status == 0
