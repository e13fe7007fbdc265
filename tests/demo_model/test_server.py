"""The demo model speaks the OpenAI wire format: checked with raw httpx and with the official `openai` package."""

import json
import time

import httpx
import pytest

from youlab_core.demo_model import MODEL_ID, MODEL_NAME, OWNED_BY, DemoModelServer, reply_for
from youlab_core.prompts import dialectic_messages

CHAT = [{"role": "user", "content": "My essay is about robotics club"}]


def post(server: DemoModelServer, body: dict, path: str = "/v1/chat/completions") -> httpx.Response:
    return httpx.post(server.url + path, json=body, timeout=10)


def sse_events(text: str) -> list[str]:
    assert text.endswith("data: [DONE]\n\n")
    events = [block for block in text.split("\n\n") if block]
    assert all(e.startswith("data: ") for e in events)
    return [e[len("data: ") :] for e in events]


@pytest.mark.parametrize("path", ["/v1/models", "/models"])
def test_models_list(demo_model, path):
    response = httpx.get(demo_model.url + path)
    assert response.status_code == 200
    assert response.json() == {
        "object": "list",
        "data": [{"id": MODEL_ID, "object": "model", "created": 1767225600, "owned_by": OWNED_BY, "name": MODEL_NAME}],
    }
    assert httpx.get(demo_model.base_url + "/models/youlab-demo").json()["name"] == MODEL_NAME
    missing = httpx.get(demo_model.base_url + "/models/gpt-4")
    assert missing.status_code == 404 and missing.json()["error"]["type"] == "invalid_request_error"


@pytest.mark.parametrize("path", ["/v1/chat/completions", "/chat/completions"])
def test_non_streaming_shape(demo_model, path):
    response = post(demo_model, {"model": MODEL_ID, "messages": CHAT}, path)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    data = response.json()
    assert data["object"] == "chat.completion" and data["model"] == MODEL_ID
    assert data["id"].startswith("chatcmpl-") and isinstance(data["created"], int)
    (choice,) = data["choices"]
    assert choice["index"] == 0 and choice["finish_reason"] == "stop"
    assert choice["message"]["role"] == "assistant"
    assert choice["message"]["content"] == reply_for(CHAT)
    usage = data["usage"]
    assert usage["prompt_tokens"] > 0 and usage["completion_tokens"] > 0
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]


@pytest.mark.parametrize("include_usage", [False, True])
def test_streaming_shape(demo_model, include_usage):
    body = {"model": MODEL_ID, "messages": CHAT, "stream": True}
    if include_usage:
        body["stream_options"] = {"include_usage": True}
    response = post(demo_model, body)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    events = sse_events(response.text)
    assert events[-1] == "[DONE]"
    chunks = [json.loads(e) for e in events[:-1]]
    assert len({c["id"] for c in chunks}) == 1
    assert all(c["object"] == "chat.completion.chunk" and c["model"] == MODEL_ID for c in chunks)
    content_chunks = [c for c in chunks if c["choices"]]
    assert content_chunks[0]["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    assert content_chunks[-1]["choices"][0]["finish_reason"] == "stop"
    assert all(c["choices"][0]["finish_reason"] is None for c in content_chunks[:-1])
    text = "".join(c["choices"][0]["delta"].get("content") or "" for c in content_chunks)
    assert text == reply_for(CHAT)
    if include_usage:
        assert chunks[-1]["choices"] == [] and chunks[-1]["usage"]["completion_tokens"] > 0
        assert all(c["usage"] is None for c in chunks[:-1])
    else:
        assert all("usage" not in c for c in chunks)


def test_streaming_and_not_give_the_same_text_and_usage(demo_model):
    plain = post(demo_model, {"model": MODEL_ID, "messages": CHAT}).json()
    streamed = post(
        demo_model, {"model": MODEL_ID, "messages": CHAT, "stream": True, "stream_options": {"include_usage": True}}
    )
    last = json.loads(sse_events(streamed.text)[-2])
    assert last["usage"] == plain["usage"]


def test_max_tokens_truncates_with_finish_reason_length(demo_model):
    data = post(demo_model, {"model": MODEL_ID, "messages": CHAT, "max_tokens": 5}).json()
    assert data["choices"][0]["finish_reason"] == "length"
    assert data["usage"]["completion_tokens"] <= 5
    assert reply_for(CHAT).startswith(data["choices"][0]["message"]["content"])


@pytest.mark.parametrize(
    ("body", "status", "fragment"),
    [
        ({"messages": CHAT}, 400, "model"),
        ({"model": "gpt-4o", "messages": CHAT}, 404, "gpt-4o"),
        ({"model": MODEL_ID}, 400, "messages"),
        ({"model": MODEL_ID, "messages": []}, 400, "messages"),
        ({"model": MODEL_ID, "messages": CHAT, "n": 2}, 400, "n=1"),
    ],
)
def test_bad_requests_get_openai_error_shape(demo_model, body, status, fragment):
    response = post(demo_model, body)
    assert response.status_code == status
    error = response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"} and fragment in error["message"]


def test_invalid_json_and_unknown_route(demo_model):
    response = httpx.post(demo_model.base_url + "/chat/completions", content=b"{nope", timeout=5)
    assert response.status_code == 400 and "JSON" in response.json()["error"]["message"]
    assert httpx.get(demo_model.url + "/v1/embeddings").status_code == 404
    assert httpx.get(demo_model.base_url + "/chat/completions").status_code == 405


def test_request_log(demo_model):
    before = time.time()
    post(demo_model, {"model": MODEL_ID, "messages": CHAT})
    (entry,) = demo_model.calls("chat")
    assert entry.path == "/v1/chat/completions" and entry.status == 200
    assert entry.body["messages"] == CHAT and before <= entry.time <= time.time()
    assert entry.headers["content-type"] == "application/json"


def test_failure_injection_429_with_retry_after(demo_model):
    demo_model.fail_next(2, status=429, retry_after=7)
    for _ in range(2):
        response = post(demo_model, {"model": MODEL_ID, "messages": CHAT})
        assert response.status_code == 429 and response.headers["retry-after"] == "7"
        assert response.json()["error"]["code"] == "rate_limit_exceeded"
    assert post(demo_model, {"model": MODEL_ID, "messages": CHAT}).status_code == 200
    assert [e.status for e in demo_model.calls("chat")] == [429, 429, 200]


def test_failure_injection_500_only_for_the_chosen_kind(demo_model):
    demo_model.fail_next(1, status=500, kind="chat")
    assert httpx.get(demo_model.base_url + "/models").status_code == 200  # not consumed by another route
    response = post(demo_model, {"model": MODEL_ID, "messages": CHAT})
    assert response.status_code == 500 and response.json()["error"]["type"] == "server_error"


def test_dropped_connection_and_down_up(demo_model):
    demo_model.fail_next(1, drop=True)
    with pytest.raises(httpx.RemoteProtocolError):
        post(demo_model, {"model": MODEL_ID, "messages": CHAT})
    demo_model.down()
    assert post(demo_model, {"model": MODEL_ID, "messages": CHAT}).status_code == 503
    demo_model.down(close=True)
    with pytest.raises(httpx.TransportError):
        post(demo_model, {"model": MODEL_ID, "messages": CHAT})
    demo_model.up()
    assert post(demo_model, {"model": MODEL_ID, "messages": CHAT}).status_code == 200


def test_latency(demo_model):
    demo_model.set_latency(0.3, kind="chat")
    start = time.perf_counter()
    post(demo_model, {"model": MODEL_ID, "messages": CHAT})
    assert time.perf_counter() - start >= 0.3
    httpx.get(demo_model.base_url + "/models")
    assert [(e.kind, e.delay) for e in demo_model.requests] == [("chat", 0.3), ("models", 0.0)]


def test_api_key_required_when_set():
    with DemoModelServer(api_key="sekrit") as server:
        assert post(server, {"model": MODEL_ID, "messages": CHAT}).status_code == 401
        ok = httpx.post(
            server.base_url + "/chat/completions",
            json={"model": MODEL_ID, "messages": CHAT},
            headers={"Authorization": "Bearer sekrit"},
        )
        assert ok.status_code == 200
    assert {e.headers["authorization"] for e in server.requests if "authorization" in e.headers} == {"<redacted>"}


def test_keep_alive_connection_is_reused(demo_model):
    with httpx.Client(base_url=demo_model.base_url) as client:
        for _ in range(5):
            assert client.post("/chat/completions", json={"model": MODEL_ID, "messages": CHAT}).status_code == 200
        # streaming closes its connection; the next request opens a new one and still works
        assert client.post("/chat/completions", json={"model": MODEL_ID, "messages": CHAT, "stream": True}).is_success
        assert client.get("/models").status_code == 200


def test_openai_sdk_non_streaming_and_streaming(demo_model):
    openai = pytest.importorskip("openai")
    client = openai.OpenAI(base_url=demo_model.base_url, api_key="unused", max_retries=0)
    assert [m.id for m in client.models.list()] == [MODEL_ID]
    messages = dialectic_messages("", "What club is the essay about?", [("user", "My essay is about robotics club.")])
    completion = client.chat.completions.create(model=MODEL_ID, messages=messages)
    assert completion.choices[0].message.content == "My essay is about robotics club."
    assert completion.usage.total_tokens > 0
    pieces, usage = [], None
    stream = client.chat.completions.create(
        model=MODEL_ID, messages=messages, stream=True, stream_options={"include_usage": True}
    )
    for chunk in stream:
        if chunk.choices:
            pieces.append(chunk.choices[0].delta.content or "")
        if chunk.usage:
            usage = chunk.usage
    assert "".join(pieces) == "My essay is about robotics club."
    assert usage is not None and usage.total_tokens == completion.usage.total_tokens


def test_openai_sdk_maps_errors(demo_model):
    openai = pytest.importorskip("openai")
    client = openai.OpenAI(base_url=demo_model.base_url, api_key="unused", max_retries=0)
    demo_model.fail_next(1, status=429, retry_after=1)
    with pytest.raises(openai.RateLimitError) as info:
        client.chat.completions.create(model=MODEL_ID, messages=CHAT)
    assert info.value.code == "rate_limit_exceeded"
    with pytest.raises(openai.NotFoundError):
        client.chat.completions.create(model="nope", messages=CHAT)


async def test_openai_async_sdk(demo_model):
    openai = pytest.importorskip("openai")
    client = openai.AsyncOpenAI(base_url=demo_model.base_url, api_key="unused", max_retries=0)
    completion = await client.chat.completions.create(model=MODEL_ID, messages=CHAT)
    assert completion.choices[0].message.content == reply_for(CHAT)
    await client.close()


def test_request_log_is_bounded():
    with DemoModelServer(max_logged=3) as server:
        for _ in range(5):
            httpx.get(server.base_url + "/models")
        post(server, {"model": MODEL_ID, "messages": CHAT})
        assert len(server.requests) == 3 and server.requests[-1].kind == "chat"


def test_chunked_request_body_is_read(demo_model):
    def body():
        payload = json.dumps({"model": MODEL_ID, "messages": CHAT}).encode()
        yield payload[:10]
        yield payload[10:]

    response = httpx.post(demo_model.base_url + "/chat/completions", content=body(),
                          headers={"Content-Type": "application/json"})
    assert response.status_code == 200
    assert response.json()["choices"][0]["message"]["content"] == reply_for(CHAT)


async def test_many_concurrent_clients_get_their_own_answers(demo_model):
    import asyncio

    demo_model.set_latency(0.1, kind="chat")
    questions = [f"My essay is about topic{i} and club{i}" for i in range(40)]

    async with httpx.AsyncClient(base_url=demo_model.base_url, timeout=10,
                                 limits=httpx.Limits(max_connections=40)) as client:
        async def ask(text: str, stream: bool) -> str:
            body = {"model": MODEL_ID, "messages": [{"role": "user", "content": text}], "stream": stream}
            response = await client.post("/chat/completions", json=body)
            if not stream:
                return response.json()["choices"][0]["message"]["content"]
            chunks = [json.loads(e) for e in sse_events(response.text)[:-1]]
            return "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"])

        answers = await asyncio.gather(*(ask(q, i % 2 == 0) for i, q in enumerate(questions)))
    assert answers == [reply_for([{"role": "user", "content": q}]) for q in questions]
    assert demo_model.max_in_flight > 1 and demo_model.in_flight == 0  # served side by side, not one by one
