"""`OpenAICompatibleLLM`: any OpenAI-compatible chat completions endpoint over httpx.

Used by the CLI, the standalone scheduler and the tests. Errors are classified for the runner's retry logic by
`youlab_core.transient`: timeouts, lost connections, 408/409/425/429 and 5xx are transient; other 4xx and malformed
replies are not.
"""

from __future__ import annotations

from typing import Any

import httpx

from ..transient import is_transient, parse_retry_after, transient_status
from .base import LLM, ChatMessage, Completion, LLMError, Usage


class OpenAICompatibleLLM(LLM):
    """Calls `POST {base_url}/chat/completions` (base_url usually ends in `/v1`)."""

    def __init__(
        self,
        base_url: str,
        api_key: str = "",
        model: str = "",
        *,
        client: httpx.AsyncClient | None = None,
        timeout: float = 60.0,
    ):
        if not base_url:
            raise ValueError("OpenAICompatibleLLM needs a base_url (for example http://127.0.0.1:8765/v1)")
        if not model:
            raise ValueError("OpenAICompatibleLLM needs a model id")
        self.base_url = base_url.rstrip("/")
        self.model = model
        self.timeout = timeout
        self._api_key = api_key
        self._own_client = client is None
        self._client = client if client is not None else httpx.AsyncClient(timeout=timeout)

    def __repr__(self) -> str:  # never show the key
        return f"OpenAICompatibleLLM(base_url={self.base_url!r}, model={self.model!r})"

    async def complete(
        self,
        messages: list[ChatMessage],
        *,
        timeout: float | None = None,
        max_tokens: int | None = None,
        temperature: float | None = None,
    ) -> Completion:
        body: dict[str, Any] = {"model": self.model, "messages": list(messages), "stream": False}
        if max_tokens is not None:
            body["max_tokens"] = max_tokens
        if temperature is not None:
            body["temperature"] = temperature
        headers = {"Authorization": f"Bearer {self._api_key}"} if self._api_key else {}
        url = f"{self.base_url}/chat/completions"
        try:
            response = await self._client.post(
                url, json=body, headers=headers, timeout=timeout if timeout is not None else self.timeout
            )
        except httpx.TimeoutException as exc:
            raise LLMError(f"LLM call to {url} timed out ({type(exc).__name__})", transient=True) from exc
        except httpx.TransportError as exc:
            raise LLMError(f"LLM call to {url} failed: {type(exc).__name__}: {exc}",
                           transient=is_transient(exc)) from exc
        if response.status_code >= 400:
            raise _http_error(url, response)
        return _parse(url, response)

    async def aclose(self) -> None:
        if self._own_client:
            await self._client.aclose()

    async def __aenter__(self) -> OpenAICompatibleLLM:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()


def _http_error(url: str, response: httpx.Response) -> LLMError:
    status = response.status_code
    return LLMError(
        f"LLM call to {url} failed with HTTP {status}: {_error_message(response)}",
        transient=transient_status(status),
        status=status,
        retry_after=parse_retry_after(response.headers.get("retry-after")),
    )


def _error_message(response: httpx.Response) -> str:
    try:
        data = response.json()
    except ValueError:
        return response.text[:300] or response.reason_phrase
    if isinstance(data, dict):
        error = data.get("error")
        if isinstance(error, dict) and error.get("message"):
            return str(error["message"])[:300]
        if isinstance(error, str):
            return error[:300]
        if data.get("detail"):
            return str(data["detail"])[:300]
    return str(data)[:300]


def _parse(url: str, response: httpx.Response) -> Completion:
    try:
        data = response.json()
        choice = data["choices"][0]
        text = choice["message"]["content"]
    except (ValueError, KeyError, IndexError, TypeError) as exc:
        raise LLMError(f"LLM call to {url} returned a malformed reply: {response.text[:200]!r}") from exc
    if text is None:
        text = ""
    if not isinstance(text, str):
        raise LLMError(f"LLM call to {url} returned non-text content: {text!r:.200}")
    usage = None
    raw = data.get("usage")
    if isinstance(raw, dict):
        usage = Usage(int(raw.get("prompt_tokens") or 0), int(raw.get("completion_tokens") or 0))
    extra = {"finish_reason": choice.get("finish_reason"), "id": data.get("id")}
    return Completion(text=text, model=str(data.get("model") or ""), usage=usage, extra=extra)
