"""The offline demo model: an OpenAI-compatible chat completions server whose answers come from rules, not an LLM.

Routes (each also without the `/v1` prefix): `GET /v1/models`, `GET /v1/models/{id}`, `POST /v1/chat/completions`
(streaming and not), plus `GET /health`. Errors use OpenAI's shape `{"error": {"message", "type", "param", "code"}}`.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from typing import Any

from .answers import reply_for
from .http import Handler, HTTPError, JSONServer, Request, Response
from .scoring import count_tokens

MODEL_ID = "youlab-demo"
MODEL_NAME = "Offline demo model (not an LLM)"
OWNED_BY = "youlab-offline-demo"
_CREATED = 1_767_225_600  # fixed (2026-01-01) so /v1/models is the same on every start

_ERROR_TYPES = {
    400: ("invalid_request_error", None),
    401: ("invalid_request_error", "invalid_api_key"),
    403: ("invalid_request_error", "permission_denied"),
    404: ("invalid_request_error", "not_found"),
    405: ("invalid_request_error", "method_not_allowed"),
    429: ("requests", "rate_limit_exceeded"),
}


def model_entry() -> dict[str, Any]:
    return {"id": MODEL_ID, "object": "model", "created": _CREATED, "owned_by": OWNED_BY, "name": MODEL_NAME}


def usage_for(messages: list[dict], text: str) -> dict[str, int]:
    # ~4 tokens of framing per message, as OpenAI's own accounting adds.
    prompt = sum(count_tokens(json.dumps(m.get("content", ""), ensure_ascii=False)) + 4 for m in messages)
    completion = count_tokens(text)
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}


class DemoModelServer(JSONServer):
    """The demo model as an in-process server: `DemoModelServer("127.0.0.1", 0).start()`; `.base_url` ends in /v1.

    Test controls (from `JSONServer`): `requests` (log), `set_latency(seconds, kind)` with kinds "chat" and
    "models", `fail_next(n, status=500|429, retry_after=..., drop=...)`, `down()`/`up()`.
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0, *, api_key: str | None = None,
                 stream_chunk_words: int = 3, max_logged: int = 100_000):
        super().__init__(host, port, api_key=api_key, max_logged=max_logged)
        self.stream_chunk_words = stream_chunk_words

    @property
    def base_url(self) -> str:
        return f"{self.url}/v1"

    def routes(self) -> list[tuple[str, str, Handler, str]]:
        routes: list[tuple[str, str, Handler, str]] = []
        for prefix in ("/v1", ""):
            routes += [
                ("GET", prefix + "/models", self._models, "models"),
                ("GET", prefix + r"/models/(?P<model>[^/]+)", self._model, "models"),
                ("POST", prefix + "/chat/completions", self._chat, "chat"),
            ]
        routes.append(("GET", "/health", lambda request: Response({"status": True}), "health"))
        return routes

    def error_body(self, status: int, message: str) -> Any:
        kind, code = _ERROR_TYPES.get(status, ("server_error", None))
        return {"error": {"message": message, "type": kind, "param": None, "code": code}}

    # --- handlers ----------------------------------------------------------------------------------------------
    def _models(self, request: Request) -> Response:
        return Response({"object": "list", "data": [model_entry()]})

    def _model(self, request: Request) -> Response:
        if request.params["model"] != MODEL_ID:
            raise HTTPError(404, f"The model '{request.params['model']}' does not exist")
        return Response(model_entry())

    def _chat(self, request: Request) -> Response:
        body = request.json()
        if not isinstance(body, dict):
            raise HTTPError(400, "request body must be a JSON object")
        model = body.get("model")
        if not isinstance(model, str) or not model:
            raise HTTPError(400, "you must provide a model parameter")
        if model != MODEL_ID:
            raise HTTPError(404, f"The model '{model}' does not exist")
        messages = body.get("messages")
        if not isinstance(messages, list) or not messages or not all(isinstance(m, dict) for m in messages):
            raise HTTPError(400, "'messages' must be a non-empty array of message objects")
        if body.get("n", 1) != 1:
            raise HTTPError(400, "the demo model supports only n=1")
        text = reply_for(messages)
        finish = "stop"
        limit = body.get("max_completion_tokens") or body.get("max_tokens")
        if isinstance(limit, int) and limit > 0 and count_tokens(text) > limit:
            text, finish = _truncate(text, limit), "length"
        usage = usage_for(messages, text)
        completion_id = f"chatcmpl-{uuid.uuid4().hex[:24]}"
        created = int(time.time())
        if body.get("stream"):
            include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
            return Response(stream=self._sse(completion_id, created, text, finish, usage, include_usage))
        return Response(
            {
                "id": completion_id,
                "object": "chat.completion",
                "created": created,
                "model": MODEL_ID,
                "system_fingerprint": None,
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": text, "refusal": None},
                        "logprobs": None,
                        "finish_reason": finish,
                    }
                ],
                "usage": usage,
            }
        )

    def _sse(self, completion_id: str, created: int, text: str, finish: str, usage: dict, include_usage: bool
             ) -> Iterator[bytes]:
        def chunk(delta: dict, finish_reason: str | None) -> bytes:
            payload: dict[str, Any] = {
                "id": completion_id,
                "object": "chat.completion.chunk",
                "created": created,
                "model": MODEL_ID,
                "system_fingerprint": None,
                "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}],
            }
            if include_usage:
                payload["usage"] = None
            return f"data: {json.dumps(payload, ensure_ascii=False)}\n\n".encode()

        yield chunk({"role": "assistant", "content": ""}, None)
        for piece in _pieces(text, self.stream_chunk_words):
            yield chunk({"content": piece}, None)
        yield chunk({}, finish)
        if include_usage:
            final = {"id": completion_id, "object": "chat.completion.chunk", "created": created, "model": MODEL_ID,
                     "system_fingerprint": None, "choices": [], "usage": usage}
            yield f"data: {json.dumps(final)}\n\n".encode()
        yield b"data: [DONE]\n\n"


def _pieces(text: str, words_per_piece: int) -> list[str]:
    """Split `text` into pieces of a few words that concatenate back to exactly `text`."""
    pieces: list[str] = []
    current, count = "", 0
    for part in text.split(" "):
        current += ("" if not current and not pieces else " ") + part
        count += 1
        if count >= words_per_piece:
            pieces.append(current)
            current, count = "", 0
    if current or not pieces:
        pieces.append(current)
    return pieces


def _truncate(text: str, limit: int) -> str:
    words = text.split(" ")
    while words and count_tokens(" ".join(words)) > limit:
        words.pop()
    return " ".join(words)
