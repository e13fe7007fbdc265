"""ensure_connection: sets the provider's connection, and leaves one an admin changed alone."""

from __future__ import annotations

import json

import httpx

from youlab_core.launch.connection import ensure_connection
from youlab_core.launch.provider import Provider
from youlab_core.openwebui import OpenWebUIClient


class ConfigServer:
    def __init__(self) -> None:
        self.openai = {"ENABLE_OPENAI_API": True, "OPENAI_API_BASE_URLS": ["http://127.0.0.1:1/v1"],
                       "OPENAI_API_KEYS": ["k"], "OPENAI_API_CONFIGS": {"0": {"prefix_id": "x"}}}
        self.ollama = {"ENABLE_OLLAMA_API": False, "OLLAMA_BASE_URLS": ["http://localhost:11434"],
                       "OLLAMA_API_CONFIGS": {}}
        self.updates: list[str] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        kind = request.url.path.split("/")[1]
        if request.url.path.endswith("/config/update"):
            self.updates.append(kind)
            setattr(self, kind, json.loads(request.content))
        return httpx.Response(200, json=getattr(self, kind))


def _client(server: ConfigServer) -> OpenWebUIClient:
    return OpenWebUIClient("http://ow", token="t", transport=httpx.MockTransport(server))


async def test_a_new_demo_port_replaces_the_one_we_set_before() -> None:
    server = ConfigServer()
    state: dict = {}
    async with _client(server) as c:
        assert await ensure_connection(c, Provider("demo", ["http://127.0.0.1:1/v1"], ["k"]), state) == []
        notes = await ensure_connection(c, Provider("demo", ["http://127.0.0.1:2/v1"], ["k"]), state)
    assert notes == ["openai connection set to http://127.0.0.1:2/v1"]
    assert server.openai["OPENAI_API_BASE_URLS"] == ["http://127.0.0.1:2/v1"]
    assert server.openai["OPENAI_API_CONFIGS"] == {"0": {"prefix_id": "x"}}  # the admin's per-connection settings
    assert server.updates == ["openai"]  # a disabled Ollama's URLs do not matter


async def test_a_connection_the_admin_changed_is_kept() -> None:
    server = ConfigServer()
    state: dict = {}
    async with _client(server) as c:
        await ensure_connection(c, Provider("demo", ["http://127.0.0.1:1/v1"], ["k"]), state)
        server.openai["OPENAI_API_BASE_URLS"] = ["https://llm.example.org/v1"]  # done in the admin panel
        notes = await ensure_connection(c, Provider("demo", ["http://127.0.0.1:3/v1"], ["k"]), state)
    assert notes == ["keeping the openai connection set in Open WebUI's admin panel"]
    assert server.openai["OPENAI_API_BASE_URLS"] == ["https://llm.example.org/v1"]


async def test_ollama_turned_on_when_the_provider_is_ollama() -> None:
    server = ConfigServer()
    async with _client(server) as c:
        notes = await ensure_connection(c, Provider("ollama", ollama_urls=["http://127.0.0.1:11434"]), {})
    assert server.ollama["ENABLE_OLLAMA_API"] is True
    assert server.openai["ENABLE_OPENAI_API"] is False
    assert len(notes) == 2
    assert "secret" not in json.dumps(notes)
