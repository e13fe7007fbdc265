"""The Honcho test server, driven by the real `honcho-ai` SDK (sync and async)."""

import time

import pytest
from honcho import Honcho
from honcho.http.exceptions import (
    AuthenticationError,
    NotFoundError,
    RateLimitError,
    ServerError,
    UnprocessableEntityError,
)

from tests.servers.honcho_server import HonchoTestServer
from youlab_core.demo_model import NOTHING_KNOWN_REPLY


def client(server, **kwargs) -> Honcho:
    return Honcho(base_url=server.url, workspace_id="youlab", api_key="k", max_retries=0, **kwargs)


@pytest.fixture
def populated(honcho_server):
    honcho = client(honcho_server)
    student, tutor = honcho.peer("student_u1"), honcho.peer("assistant")
    first = honcho.session("chat_c1", peers=[student, tutor])
    first.add_messages([
        student.message("My essay is about my grandmother's garden."),
        tutor.message("What grows in the garden? Tell me about soccer too."),
        student.message("Tomatoes grow there."),
    ])
    second = honcho.session("chat_c2", peers=[student, tutor])
    second.add_messages([student.message("I play soccer on weekends."), student.message("Deadlines worry me.")])
    return honcho, student


def test_everything_sent_is_stored(populated, honcho_server):
    honcho, _ = populated
    store = honcho_server.store
    assert set(store.workspaces) == {"youlab"}
    assert {p for (_, p) in store.peers} == {"student_u1", "assistant"}
    assert [m["content"] for m in store.messages[("youlab", "chat_c2")]] == [
        "I play soccer on weekends.", "Deadlines worry me."]
    listed = list(honcho.session("chat_c1").messages())
    assert [(m.peer_id, m.content) for m in listed] == [
        ("student_u1", "My essay is about my grandmother's garden."),
        ("assistant", "What grows in the garden? Tell me about soccer too."),
        ("student_u1", "Tomatoes grow there."),
    ]
    assert [p.id for p in honcho.peers()] == ["student_u1", "assistant"]
    assert [s.id for s in honcho.sessions()] == ["chat_c1", "chat_c2"]
    assert [p.id for p in honcho.session("chat_c1").peers()] == ["student_u1", "assistant"]


def test_get_or_create_is_idempotent(populated, honcho_server):
    honcho, _ = populated
    honcho.peer("student_u1", metadata={"x": 1})
    honcho.session("chat_c1")
    assert len(honcho_server.store.peers) == 2 and len(honcho_server.store.sessions) == 2
    assert len(honcho_server.store.messages[("youlab", "chat_c1")]) == 3


def test_dialectic_answers_from_the_stored_messages_of_the_requested_sessions(populated):
    _, student = populated
    # all sessions
    assert student.chat("What does the student play? soccer?") == "I play soccer on weekends."
    # one session: soccer was only mentioned by the tutor there, never by the student
    assert student.chat("soccer?", session="chat_c1") == NOTHING_KNOWN_REPLY
    assert student.chat("garden?", session="chat_c1") == "My essay is about my grandmother's garden."
    # an allowlist of sessions
    assert student.chat("What worries them? deadlines", sessions=["chat_c2"]) == "Deadlines worry me."
    assert student.chat("garden", sessions=["chat_c2"]) == NOTHING_KNOWN_REPLY


def test_dialectic_sees_new_messages_and_returns_none_without_any(populated, honcho_server):
    honcho, student = populated
    honcho.session("chat_c2").add_messages([student.message("Chess club is my new passion.")])
    assert student.chat("chess club?") == "Chess club is my new passion."
    assert honcho.peer("nobody_yet").chat("anything about chess?") is None
    (call,) = [c for c in honcho_server.calls("chat") if c.path.endswith("/nobody_yet/chat")]
    assert call.body["query"] == "anything about chess?"


def test_dialectic_for_unknown_session_is_404(populated):
    _, student = populated
    with pytest.raises(NotFoundError):
        student.chat("garden", session="chat_missing")


def test_bad_ids_are_422(honcho_server):
    honcho = client(honcho_server)
    with pytest.raises(UnprocessableEntityError):
        honcho.peer("student u1")  # space
    with pytest.raises(UnprocessableEntityError):
        honcho.session("chat.c1")
    with pytest.raises(UnprocessableEntityError):
        honcho.peer("x" * 513)
    session = honcho.session("chat_ok")
    with pytest.raises(UnprocessableEntityError):
        session.add_messages([honcho.peer("ok").message("hi"), {"peer_id": "bad/id", "content": "x"}])
    assert honcho_server.store.messages[("youlab", "chat_ok")] == []  # the refused batch stored nothing


def test_batches_must_hold_1_to_100_messages(honcho_server):
    honcho = client(honcho_server)
    peer, session = honcho.peer("student_u1"), honcho.session("chat_c1")
    session.add_messages([peer.message(f"message {i}") for i in range(100)])
    with pytest.raises(UnprocessableEntityError) as info:
        session.add_messages([peer.message(f"message {i}") for i in range(101)])
    assert "101" in str(info.value)
    assert len(honcho_server.store.messages[("youlab", "chat_c1")]) == 100
    (refused,) = [r for r in honcho_server.requests if r.status == 422]
    assert isinstance(refused.body["messages"], list) and len(refused.body["messages"]) == 101


def test_list_paging(honcho_server):
    import httpx

    honcho = client(honcho_server)
    for i in range(7):
        honcho.peer(f"p{i}")
    raw = httpx.post(f"{honcho_server.url}/v3/workspaces/youlab/peers/list?page=3&size=3", json={},
                     headers={"Authorization": "Bearer k"}).json()
    assert raw["total"] == 7 and raw["pages"] == 3 and raw["page"] == 3 and [p["id"] for p in raw["items"]] == ["p6"]
    assert len(list(honcho.peers())) == 7
    too_big = httpx.post(f"{honcho_server.url}/v3/workspaces/youlab/peers/list?size=101", json={})
    assert too_big.status_code == 422


def test_errors_keep_their_shape_and_sdk_types(honcho_server):
    honcho = client(honcho_server)
    honcho.peer("student_u1")
    honcho_server.fail_next(1, status=503)
    with pytest.raises(ServerError):
        honcho.peer("student_u1").chat("anything")
    honcho_server.fail_next(1, status=429, retry_after=0)
    with pytest.raises(RateLimitError):
        honcho.peer("student_u1").chat("anything")
    honcho_server.down()
    with pytest.raises(ServerError):
        honcho.session("chat_x")
    honcho_server.up()
    assert honcho.session("chat_x").id == "chat_x"


def test_sdk_retries_through_a_short_outage(honcho_server):
    honcho = Honcho(base_url=honcho_server.url, workspace_id="youlab", max_retries=2)
    honcho_server.fail_next(2, status=503, kind="peer")
    assert honcho.peer("student_u1").id == "student_u1"
    assert [r.status for r in honcho_server.calls("peer")] == [503, 503, 201]


def test_bearer_auth_when_a_key_is_set():
    with HonchoTestServer(api_key="right") as server:
        with pytest.raises(AuthenticationError):
            Honcho(base_url=server.url, workspace_id="w", api_key="wrong", max_retries=0).peer("a")
        assert Honcho(base_url=server.url, workspace_id="w", api_key="right", max_retries=0).peer("a").id == "a"


def test_latency_on_dialectic_calls_only(populated, honcho_server):
    _, student = populated
    honcho_server.set_latency(0.2, kind="chat")
    start = time.perf_counter()
    student.chat("garden")
    assert time.perf_counter() - start >= 0.2
    assert [s.id for s in student.sessions()] == ["chat_c1", "chat_c2"]
    assert [(r.kind, r.delay) for r in honcho_server.requests[-2:]] == [("chat", 0.2), ("list", 0.0)]


async def test_async_sdk(honcho_server):
    honcho = client(honcho_server)
    student = await honcho.aio.peer("student_u2")
    session = await honcho.aio.session("chat_a1", peers=[student])
    await session.aio.add_messages([student.message("I am applying for engineering programs.")])
    assert await student.aio.chat("Which programs?") == "I am applying for engineering programs."
    assert await student.aio.chat("Which programs?", session="chat_a1") == "I am applying for engineering programs."
    with pytest.raises(UnprocessableEntityError):
        await session.aio.add_messages([student.message(str(i)) for i in range(101)])
    with pytest.raises(UnprocessableEntityError):
        await honcho.aio.peer("bad id")


def test_dialectic_about_a_target_reads_the_targets_messages(populated):
    honcho, student = populated
    tutor = honcho.peer("assistant")
    assert tutor.chat("What grows?", target=student) == "Tomatoes grow there."
    assert student.chat("What grows?", target="assistant") == "What grows in the garden?"


def test_outage_that_drops_connections(populated, honcho_server):
    from honcho.http.exceptions import ConnectionError as HonchoConnectionError

    honcho, student = populated
    honcho_server.down(close=True)
    with pytest.raises(HonchoConnectionError):
        honcho.session("chat_c1").add_messages([student.message("lost?")])
    honcho_server.up()
    honcho.session("chat_c1").add_messages([student.message("kept")])
    assert [m["content"] for m in honcho_server.store.messages[("youlab", "chat_c1")]][-1] == "kept"
    assert "lost?" not in [m["content"] for m in honcho_server.store.messages[("youlab", "chat_c1")]]


async def test_async_sdk_sees_a_slow_server_time_out(honcho_server):
    from honcho.http.exceptions import TimeoutError as HonchoTimeoutError

    honcho = client(honcho_server)
    student = await honcho.aio.peer("student_u3")
    honcho_server.set_latency(0.5, kind="chat")
    with pytest.raises(HonchoTimeoutError):
        await student.aio.chat("anything", timeout=0.1)
