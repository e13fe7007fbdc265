"""What can be checked of OpenWebUILLM without a running Open WebUI (its end-to-end test runs inside Open WebUI)."""

import asyncio
import json

import pytest

from youlab_core.llm import LLMError, OpenWebUILLM
from youlab_core.llm.openwebui import (
    TASK_NAME,
    build_request,
    call_metadata,
    completion_from_result,
    exception_to_llm_error,
)

starlette = pytest.importorskip("starlette")


class FakeApp:
    """Stands in for Open WebUI's FastAPI app: only its identity matters to build_request."""


def test_fresh_request_carries_no_chat_ids():
    app = FakeApp()
    request = build_request(app, user_id="u1", model_id="gpt-4o")
    assert request.app is app
    assert request.state.metadata == {"user_id": "u1", "task": TASK_NAME, "model": {"id": "gpt-4o"}}
    assert request.state.direct is False
    assert not hasattr(request.state, "chat_id") and not hasattr(request.state, "token")
    assert dict(request.headers) == {"content-type": "application/json"}
    assert request.cookies == {}
    # two calls never share state
    other = build_request(app, user_id="u2", model_id="gpt-4o")
    other.state.metadata["chat_id"] = "leak"
    assert "chat_id" not in request.state.metadata


def test_metadata_has_no_ids_of_a_chat():
    assert not {"chat_id", "message_id", "session_id", "folder_id"} & set(call_metadata(user_id="u", model_id="m"))


def test_completion_from_a_dict():
    result = {"model": "gpt-4o", "choices": [{"message": {"content": "hi"}}],
              "usage": {"prompt_tokens": 3, "completion_tokens": 1}}
    completion = completion_from_result("gpt-4o", result)
    assert completion.text == "hi" and completion.usage.total_tokens == 4


def test_error_responses_become_llm_errors():
    from starlette.responses import JSONResponse, PlainTextResponse

    with pytest.raises(LLMError) as info:
        completion_from_result("m", JSONResponse({"error": {"message": "slow down"}}, 429, headers={"retry-after": "2"}))
    assert info.value.transient and info.value.status == 429 and info.value.retry_after == 2.0
    assert "slow down" in str(info.value)
    with pytest.raises(LLMError) as info:
        completion_from_result("m", PlainTextResponse("nope", 400))
    assert not info.value.transient and info.value.status == 400
    with pytest.raises(LLMError, match="malformed"):
        completion_from_result("m", {"choices": []})
    with pytest.raises(LLMError, match="not a completion"):
        completion_from_result("m", "a string")


def test_exceptions_become_llm_errors():
    from fastapi import HTTPException

    err = exception_to_llm_error("m", HTTPException(status_code=500, detail="Server Connection Error"))
    assert err.transient and err.status == 500
    err = exception_to_llm_error("m", Exception("Model not found"))
    assert not err.transient and "Model not found" in str(err)


async def test_complete_maps_timeouts_and_errors(monkeypatch):
    llm = OpenWebUILLM("gpt-4o", "u1", app=FakeApp())

    async def slow(messages, **kwargs):
        await asyncio.sleep(5)

    monkeypatch.setattr(llm, "_call", slow)
    with pytest.raises(LLMError) as info:
        await llm.complete([{"role": "user", "content": "x"}], timeout=0.05)
    assert info.value.transient

    async def failing(messages, **kwargs):
        raise Exception("Model not found")

    monkeypatch.setattr(llm, "_call", failing)
    with pytest.raises(LLMError, match="Model not found"):
        await llm.complete([{"role": "user", "content": "x"}])


def test_constructor_checks_and_repr():
    with pytest.raises(ValueError):
        OpenWebUILLM("", "u")
    with pytest.raises(ValueError):
        OpenWebUILLM("m", "")
    assert json.dumps(repr(OpenWebUILLM("m", "u")))
