"""An async client for Open WebUI 0.12's REST API (httpx).

One `OpenWebUIClient` talks as one user: a session token from `sign_in`, or an API key (`sk-...`) passed as
`token`. Resources are grouped: `client.functions`, `client.models`, `client.users`, `client.groups`,
`client.folders`, `client.chats`, plus `chat_completion` and the OpenAI connection settings here.

Every failure raises `OpenWebUIError` with the HTTP status and Open WebUI's `detail` (transient for no answer,
429 and 5xx, with the server's Retry-After). Getters return None for
"does not exist" (Open WebUI answers that with 404, or for functions with 401 + "not found", see resources.py).

`POST /api/v1/functions/sync` is refused here on purpose: it deletes every function not in its list.
"""

from __future__ import annotations

import json as jsonlib
from collections.abc import AsyncIterator
from typing import Any

import httpx

from ..transient import is_transient, parse_retry_after
from .errors import OpenWebUIError
from .resources import ChatsAPI, FoldersAPI, FunctionsAPI, GroupsAPI, ModelsAPI, UsersAPI

# Paths this client will never call (a programming error, so it raises before sending anything).
FORBIDDEN_PATHS = ("/api/v1/functions/sync",)


class OpenWebUIClient:
    def __init__(
        self,
        base_url: str,
        *,
        token: str | None = None,
        timeout: float = 60.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.token = token
        self._http = httpx.AsyncClient(base_url=self.base_url, timeout=timeout, transport=transport, trust_env=False)
        # Every (method, path) sent, in order: lets callers and tests see exactly what was touched.
        self.sent: list[tuple[str, str]] = []
        self.functions = FunctionsAPI(self)
        self.models = ModelsAPI(self)
        self.users = UsersAPI(self)
        self.groups = GroupsAPI(self)
        self.folders = FoldersAPI(self)
        self.chats = ChatsAPI(self)

    # -- plumbing ---------------------------------------------------------------------------------------------

    async def __aenter__(self) -> OpenWebUIClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}

    async def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: dict[str, Any] | None = None,
        none_if: tuple[int, ...] = (),
    ) -> Any:
        """Send one call and return its decoded JSON body (None for an empty body, or a status in `none_if`)."""
        if path.rstrip("/") in FORBIDDEN_PATHS:
            raise ValueError(f"refusing to call {path}: it deletes every function not in its list")
        self.sent.append((method, path))
        try:
            response = await self._http.request(method, path, json=json, params=params, headers=self._headers())
        except httpx.HTTPError as exc:
            raise _unreachable(method, path, exc) from exc
        if response.status_code in none_if:
            return None
        if response.status_code >= 400:
            raise _refused(method, path, response)
        if not response.content:
            return None
        try:
            return response.json()
        except ValueError:
            return response.text

    # -- auth -------------------------------------------------------------------------------------------------

    async def sign_in(self, email: str, password: str) -> dict[str, Any]:
        """Sign in with email and password; keeps the session token for later calls and returns the user."""
        user = await self.request("POST", "/api/v1/auths/signin", json={"email": email, "password": password})
        self.token = user["token"]
        return user

    async def me(self) -> dict[str, Any]:
        """The signed-in user (id, email, name, role, ...)."""
        return await self.request("GET", "/api/v1/auths/")

    async def create_api_key(self) -> str:
        """A new API key for the signed-in user (needs ENABLE_API_KEYS=true). Replaces the previous key."""
        return (await self.request("POST", "/api/v1/auths/api_key"))["api_key"]

    async def health(self) -> bool:
        """True when the server answers /health (no token needed)."""
        try:
            response = await self._http.get("/health")
        except httpx.HTTPError:
            return False
        return response.status_code == 200

    async def app_config(self) -> dict[str, Any]:
        """GET /api/config: version, features, ... (more fields when signed in)."""
        return await self.request("GET", "/api/config")

    # -- LLM connections --------------------------------------------------------------------------------------

    async def get_openai_config(self) -> dict[str, Any]:
        """{ENABLE_OPENAI_API, OPENAI_API_BASE_URLS, OPENAI_API_KEYS, OPENAI_API_CONFIGS} (admin)."""
        return await self.request("GET", "/openai/config")

    async def update_openai_config(self, config: dict[str, Any]) -> dict[str, Any]:
        return await self.request("POST", "/openai/config/update", json=config)

    async def get_ollama_config(self) -> dict[str, Any]:
        return await self.request("GET", "/ollama/config")

    async def update_ollama_config(self, config: dict[str, Any]) -> dict[str, Any]:
        return await self.request("POST", "/ollama/config/update", json=config)

    # -- chat completions -------------------------------------------------------------------------------------

    async def chat_completion(self, body: dict[str, Any]) -> dict[str, Any]:
        """POST /api/chat/completions, non-streaming: the OpenAI-shaped response. Filters run; errors raise."""
        return await self.request("POST", "/api/chat/completions", json={**body, "stream": False})

    async def stream_chat_completion(self, body: dict[str, Any]) -> AsyncIterator[dict[str, Any]]:
        """POST /api/chat/completions with stream=true: yields each decoded `data:` chunk until [DONE]."""
        path = "/api/chat/completions"
        self.sent.append(("POST", path))
        try:
            async with self._http.stream(
                "POST", path, json={**body, "stream": True}, headers=self._headers()
            ) as response:
                if response.status_code >= 400:
                    await response.aread()
                    raise _refused("POST", path, response)
                async for line in response.aiter_lines():
                    if not line.startswith("data:"):
                        continue
                    data = line[len("data:") :].strip()
                    if data == "[DONE]":
                        return
                    yield jsonlib.loads(data)
        except httpx.HTTPError as exc:
            raise _unreachable("POST", path, exc) from exc


def _unreachable(method: str, path: str, exc: httpx.HTTPError) -> OpenWebUIError:
    """Status 0: no answer (refused, timed out, dropped); transient unless it cannot pass (a bad URL scheme)."""
    return OpenWebUIError(method, path, 0, f"{type(exc).__name__}: {exc}", transient=is_transient(exc))


def _refused(method: str, path: str, response: httpx.Response) -> OpenWebUIError:
    return OpenWebUIError(method, path, response.status_code, _detail(response),
                          retry_after=parse_retry_after(response.headers.get("retry-after")))


def _detail(response: httpx.Response) -> Any:
    try:
        body = response.json()
    except ValueError:
        return response.text.strip() or response.reason_phrase
    if isinstance(body, dict):
        if "detail" in body:
            return body["detail"]
        if "error" in body:
            error = body["error"]
            return error.get("message", error) if isinstance(error, dict) else error
    return body
