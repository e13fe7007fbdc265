import socket

import httpx
import pytest

from youlab_core.demo_model import MODEL_ID, DemoModelServer, JSONServer, Response, reply_for
from youlab_core.errors import YoulabError
from youlab_core.llm import LLMError, OpenAICompatibleLLM, Usage
from youlab_core.prompts import merge_messages
from youlab_core.transient import is_transient, retry_after_of

CHAT = [{"role": "user", "content": "My essay is about robotics club"}]


@pytest.fixture
async def llm(demo_model):
    client = OpenAICompatibleLLM(demo_model.base_url, "test-key", MODEL_ID, timeout=5)
    yield client
    await client.aclose()


async def test_success_returns_text_model_and_usage(llm, demo_model):
    completion = await llm.complete(CHAT)
    assert completion.text == reply_for(CHAT)
    assert completion.model == MODEL_ID
    assert isinstance(completion.usage, Usage) and completion.usage.prompt_tokens > 0
    assert completion.usage.completion_tokens > 0
    assert completion.extra["finish_reason"] == "stop"
    (call,) = demo_model.calls("chat")
    assert call.body == {"model": MODEL_ID, "messages": CHAT, "stream": False}


async def test_options_are_sent(llm, demo_model):
    completion = await llm.complete(merge_messages("f", "", "A.", "B."), max_tokens=50, temperature=0.0)
    assert completion.text == "A. B."
    body = demo_model.calls("chat")[0].body
    assert body["max_tokens"] == 50 and body["temperature"] == 0.0


async def test_api_key_is_sent_as_bearer_and_never_shown():
    with DemoModelServer(api_key="sekrit") as server:
        async with OpenAICompatibleLLM(server.base_url, "sekrit", MODEL_ID) as good:
            assert (await good.complete(CHAT)).text
            assert "sekrit" not in repr(good)
        async with OpenAICompatibleLLM(server.base_url, "wrong", MODEL_ID) as bad:
            with pytest.raises(LLMError) as info:
                await bad.complete(CHAT)
    assert info.value.status == 401 and not info.value.transient
    assert "wrong" not in str(info.value)


async def test_timeout_is_transient(llm, demo_model):
    demo_model.set_latency(1.0, kind="chat")
    with pytest.raises(LLMError) as info:
        await llm.complete(CHAT, timeout=0.2)
    assert info.value.transient and info.value.status is None and "timed out" in str(info.value)


async def test_429_is_transient_with_retry_after(llm, demo_model):
    demo_model.fail_next(1, status=429, retry_after=3)
    with pytest.raises(LLMError) as info:
        await llm.complete(CHAT)
    assert info.value.transient and info.value.status == 429 and info.value.retry_after == 3.0
    assert "HTTP 429" in str(info.value)
    assert (await llm.complete(CHAT)).text  # and the next call goes through


@pytest.mark.parametrize("status", [500, 502, 503, 408])
async def test_server_errors_are_transient(llm, demo_model, status):
    demo_model.fail_next(1, status=status, message="upstream exploded")
    with pytest.raises(LLMError) as info:
        await llm.complete(CHAT)
    assert info.value.transient and info.value.status == status
    assert "upstream exploded" in str(info.value) and info.value.retry_after is None


@pytest.mark.parametrize("status", [400, 403, 422])
async def test_client_errors_are_not_transient(llm, demo_model, status):
    demo_model.fail_next(1, status=status, message="bad request body")
    with pytest.raises(LLMError) as info:
        await llm.complete(CHAT)
    assert not info.value.transient and info.value.status == status and "bad request body" in str(info.value)


async def test_unknown_model_is_not_transient(demo_model):
    async with OpenAICompatibleLLM(demo_model.base_url, "", "gpt-nope") as llm:
        with pytest.raises(LLMError) as info:
            await llm.complete(CHAT)
    assert info.value.status == 404 and not info.value.transient and "gpt-nope" in str(info.value)


async def test_dropped_connection_and_refused_connection_are_transient(llm, demo_model):
    demo_model.fail_next(1, drop=True)
    with pytest.raises(LLMError) as info:
        await llm.complete(CHAT)
    assert info.value.transient
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    async with OpenAICompatibleLLM(f"http://127.0.0.1:{port}/v1", "", MODEL_ID) as nowhere:
        with pytest.raises(LLMError) as info:
            await nowhere.complete(CHAT)
    assert info.value.transient



async def test_a_url_that_can_never_work_is_not_transient():
    async with OpenAICompatibleLLM("ftp://127.0.0.1:9/v1", "", MODEL_ID) as wrong:
        with pytest.raises(LLMError) as info:
            await wrong.complete(CHAT)
    assert not info.value.transient and "UnsupportedProtocol" in str(info.value)


async def test_llm_errors_are_youlab_errors_with_retry_after(llm, demo_model):
    demo_model.fail_next(1, status=503, retry_after=4)
    with pytest.raises(YoulabError) as info:
        await llm.complete(CHAT)
    assert isinstance(info.value, LLMError) and info.value.transient and info.value.retry_after == 4.0
    assert is_transient(info.value) and retry_after_of(info.value) == 4.0


class _Garbage(JSONServer):
    def routes(self):
        return [
            ("POST", "/v1/chat/completions", lambda r: Response(b"<html>proxy error</html>"), "chat"),
            ("POST", "/bad/v1/chat/completions", lambda r: Response({"choices": []}), "chat"),
            ("POST", "/nousage/v1/chat/completions",
             lambda r: Response({"model": "m", "choices": [{"message": {"content": None}}]}), "chat"),
        ]


async def test_malformed_replies_are_not_transient():
    with _Garbage() as server:
        for prefix in ("", "/bad"):
            async with OpenAICompatibleLLM(f"{server.url}{prefix}/v1", "", "m") as llm:
                with pytest.raises(LLMError) as info:
                    await llm.complete(CHAT)
                assert not info.value.transient and "malformed" in str(info.value)
        async with OpenAICompatibleLLM(f"{server.url}/nousage/v1", "", "m") as llm:
            completion = await llm.complete(CHAT)
    assert completion.text == "" and completion.usage is None


async def test_a_shared_client_is_not_closed(demo_model):
    async with httpx.AsyncClient() as client:
        llm = OpenAICompatibleLLM(demo_model.base_url, "", MODEL_ID, client=client)
        await llm.complete(CHAT)
        await llm.aclose()
        assert not client.is_closed
        await llm.complete(CHAT)


def test_constructor_needs_url_and_model():
    with pytest.raises(ValueError, match="base_url"):
        OpenAICompatibleLLM("", "", MODEL_ID)
    with pytest.raises(ValueError, match="model"):
        OpenAICompatibleLLM("http://127.0.0.1:1/v1", "", "")
