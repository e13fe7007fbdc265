"""`OpenWebUILLM`: the models the admin configured in Open WebUI, called in-process.

Only usable inside a running Open WebUI (a plugin, or the scheduler loop started by one). Open WebUI's internals are
reached through youlab_core.openwebui.internals, so the library still imports without it.

Why a fresh request: `generate_chat_completion` merges `request.state.metadata` into the call. Reusing the request
that triggered us (a student's chat turn) would tie the agent's call to that chat: its chat_id would be forwarded in
headers, and events could land in the student's chat. So each call gets a new minimal ASGI request whose state
carries only what we set.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from ..openwebui import internals as owui
from ..transient import parse_retry_after, transient_status
from .base import LLM, ChatMessage, Completion, LLMError, Usage

# Marks our calls in the metadata Open WebUI passes along (its own task prompts use `task` the same way).
TASK_NAME = "youlab_background_agent"


def build_request(app: Any, *, user_id: str, model_id: str) -> Any:
    """A fresh Starlette request bound to Open WebUI's `app`, with state carrying no chat, message or session id."""
    from starlette.requests import Request

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/api/chat/completions",
        "raw_path": b"/api/chat/completions",
        "query_string": b"",
        "root_path": "",
        "headers": [(b"content-type", b"application/json")],
        "client": ("127.0.0.1", 0),
        "server": ("127.0.0.1", 0),
        "app": app,
        "state": {},
    }
    request = Request(scope)
    request.state.metadata = call_metadata(user_id=user_id, model_id=model_id)
    request.state.direct = False
    return request


def call_metadata(*, user_id: str, model_id: str) -> dict[str, Any]:
    """The only metadata our calls carry: who they run for and what they are. No chat/message/session ids."""
    return {"user_id": user_id, "task": TASK_NAME, "model": {"id": model_id}}


class OpenWebUILLM(LLM):
    """Calls `open_webui.utils.chat.generate_chat_completion` as `user_id` with model `model_id`.

    `app`: Open WebUI's FastAPI app (default: `open_webui.main.app`, the one running in this process).
    """

    def __init__(self, model_id: str, user_id: str, *, app: Any = None):
        if not model_id:
            raise ValueError("OpenWebUILLM needs a model id (the Open WebUI model the agents should use)")
        if not user_id:
            raise ValueError("OpenWebUILLM needs the id of the Open WebUI user the call runs as")
        self.model_id = model_id
        self.user_id = user_id
        self._app = app

    def __repr__(self) -> str:
        return f"OpenWebUILLM(model_id={self.model_id!r}, user_id={self.user_id!r})"

    def _get_app(self) -> Any:
        if self._app is None:
            self._app = owui.running_app()
        return self._app

    async def complete(
        self,
        messages: list[ChatMessage],
        *,
        timeout: float | None = None,
        max_tokens: int | None = None,
        temperature: float | None = None,
    ) -> Completion:
        try:
            coro = self._call(messages, max_tokens=max_tokens, temperature=temperature)
            result = await (asyncio.wait_for(coro, timeout) if timeout is not None else coro)
        except asyncio.TimeoutError as exc:
            raise LLMError(f"Open WebUI model {self.model_id!r} timed out after {timeout}s", transient=True) from exc
        except LLMError:
            raise
        except Exception as exc:  # Open WebUI raises HTTPException or plain Exception
            raise exception_to_llm_error(self.model_id, exc) from exc
        return completion_from_result(self.model_id, result)

    async def _call(self, messages: list[ChatMessage], *, max_tokens: int | None, temperature: float | None) -> Any:
        app = self._get_app()
        user = await owui.user_by_id(self.user_id)
        if user is None:
            raise LLMError(f"Open WebUI user {self.user_id!r} does not exist")
        request = build_request(app, user_id=self.user_id, model_id=self.model_id)
        if self.model_id not in app.state.MODELS:
            # The model list is filled lazily (first /api/models call); a background run may come first.
            await owui.refresh_models(request, user)
            if self.model_id not in app.state.MODELS:
                raise LLMError(f"Open WebUI has no model {self.model_id!r} (check the model setting)")
        form_data: dict[str, Any] = {"model": self.model_id, "messages": list(messages), "stream": False}
        if max_tokens is not None:
            form_data["max_tokens"] = max_tokens
        if temperature is not None:
            form_data["temperature"] = temperature
        # bypass_filter: our own calls must not pass through the student-facing filters (they would count as
        # student activity, or be refused by the read-only guard).
        return await owui.chat_completion(request, form_data, user, bypass_filter=True)


def exception_to_llm_error(model_id: str, exc: Exception) -> LLMError:
    status = getattr(exc, "status_code", None)
    detail = getattr(exc, "detail", None) or str(exc)
    if isinstance(status, int):
        return LLMError(
            f"Open WebUI model {model_id!r} failed with HTTP {status}: {detail}",
            transient=transient_status(status),
            status=status,
        )
    return LLMError(f"Open WebUI model {model_id!r} failed: {type(exc).__name__}: {detail}")


def completion_from_result(model_id: str, result: Any) -> Completion:
    """Turn what `generate_chat_completion` returned (a dict, or a Starlette response on errors) into a Completion."""
    if not isinstance(result, dict):
        status = getattr(result, "status_code", None)
        body = getattr(result, "body", b"")
        text = body.decode(errors="replace") if isinstance(body, bytes | bytearray) else str(result)
        if isinstance(status, int) and status >= 400:
            retry_after = parse_retry_after((getattr(result, "headers", None) or {}).get("retry-after"))
            raise LLMError(
                f"Open WebUI model {model_id!r} failed with HTTP {status}: {_message(text)}",
                transient=transient_status(status),
                status=status,
                retry_after=retry_after,
            )
        raise LLMError(f"Open WebUI model {model_id!r} returned {type(result).__name__}, not a completion")
    if "error" in result and "choices" not in result:
        raise LLMError(f"Open WebUI model {model_id!r} failed: {_message(json.dumps(result))}")
    try:
        text = result["choices"][0]["message"]["content"] or ""
    except (KeyError, IndexError, TypeError) as exc:
        raise LLMError(f"Open WebUI model {model_id!r} returned a malformed reply: {str(result)[:200]}") from exc
    usage = None
    raw = result.get("usage")
    if isinstance(raw, dict):
        usage = Usage(int(raw.get("prompt_tokens") or 0), int(raw.get("completion_tokens") or 0))
    return Completion(text=str(text), model=str(result.get("model") or model_id), usage=usage)


def _message(text: str) -> str:
    try:
        data = json.loads(text)
    except ValueError:
        return text[:300]
    if isinstance(data, dict):
        error = data.get("error")
        if isinstance(error, dict) and error.get("message"):
            return str(error["message"])[:300]
        if data.get("detail"):
            return str(data["detail"])[:300]
    return text[:300]
