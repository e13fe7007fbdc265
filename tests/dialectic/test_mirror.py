"""Mirroring chat messages into Honcho from the state store's durable outbox (real SDK, Honcho test server)."""

from __future__ import annotations

import asyncio
import logging

import pytest

from youlab_core.dialectic import TUTOR_PEER_ID, honcho_peer_id, honcho_session_id
from youlab_core.dialectic.mirror import HonchoMirror
from youlab_core.settings import Settings
from youlab_core.state import open_store


@pytest.fixture
def settings(tmp_path, honcho_server):
    return Settings(storage_root=tmp_path / "root", honcho_url=honcho_server.url, mirror_backoff_seconds=0.01,
                    mirror_backoff_max_seconds=0.05, mirror_poll_seconds=0.02, call_timeout_seconds=5,
                    outbox_max_items=10_000, outbox_max_attempts=50)


@pytest.fixture
def state(settings):
    settings.root.mkdir(parents=True, exist_ok=True)
    store = open_store(settings)
    yield store
    store.close()


@pytest.fixture
async def mirror(state, settings):
    m = HonchoMirror(state, settings)
    yield m
    await m.stop()


def stored(honcho_server, chat_id):
    return honcho_server.store.messages.get(("youlab", honcho_session_id(chat_id)), [])


async def drain(mirror, state, rounds=200):
    for _ in range(rounds):
        await mirror.flush()
        if state.outbox_stats().queued == 0:
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"outbox not drained: {state.outbox_stats()}")


async def test_messages_arrive_in_order_with_the_right_peers(mirror, state, honcho_server):
    assert mirror.enqueue("u1", "chat-a", "user", "Hello, I like poems.")
    assert mirror.enqueue("u1", "chat-a", "assistant", "Tell me about a poem.")
    assert mirror.enqueue("u1", "chat-b", "user", "Other chat.")
    assert not mirror.enqueue("u1", "chat-a", "system", "never mirrored")
    assert not mirror.enqueue("u1", "chat-a", "user", "   ")
    assert await mirror.flush() == 3
    a = stored(honcho_server, "chat-a")
    assert [(m["peer_id"], m["content"]) for m in a] == [
        (honcho_peer_id("u1"), "Hello, I like poems."), (TUTOR_PEER_ID, "Tell me about a poem.")]
    assert a[0]["metadata"]["role"] == "user" and "youlab_outbox_id" in a[0]["metadata"]
    assert [m["content"] for m in stored(honcho_server, "chat-b")] == ["Other chat."]
    assert state.outbox_stats().queued == 0
    session = honcho_server.store.sessions[("youlab", honcho_session_id("chat-a"))]
    assert session["metadata"] == {"chat_id": "chat-a", "user_id": "u1"}


async def test_batches_hold_at_most_100_messages(mirror, state, honcho_server):
    for i in range(250):
        mirror.enqueue("u1", "long-chat", "user", f"message {i}")
    assert await mirror.flush() == 250
    sizes = [len(r.body["messages"]) for r in honcho_server.calls("messages") if r.method == "POST"]
    assert sizes == [100, 100, 50]
    assert [m["content"] for m in stored(honcho_server, "long-chat")] == [f"message {i}" for i in range(250)]


async def test_an_outage_during_a_burst_loses_nothing(mirror, state, honcho_server):
    honcho_server.down()
    chats = [f"chat-{c}" for c in range(5)]
    for i in range(300):
        chat = i % 5
        assert mirror.enqueue(f"u{chat % 3}", chats[chat], "user" if i % 2 else "assistant", f"burst {i}")
        if i % 60 == 0:
            assert await mirror.flush() == 0  # Honcho is down: nothing delivered, nothing dropped
    assert state.outbox_stats().queued == 300 and state.outbox_stats().dead == 0
    honcho_server.up()
    await drain(mirror, state)
    delivered = [m for c in chats for m in stored(honcho_server, c)]
    assert sorted(m["content"] for m in delivered) == sorted(f"burst {i}" for i in range(300))  # once each
    for c in chats:  # each chat's order is kept
        numbers = [int(m["content"].split()[1]) for m in stored(honcho_server, c)]
        assert numbers == sorted(numbers)


async def test_connection_drops_are_retried_too(mirror, state, honcho_server):
    honcho_server.down(close=True)
    for i in range(20):
        mirror.enqueue("u1", "chat-x", "user", f"m{i}")
    assert await mirror.flush() == 0
    honcho_server.up()
    await drain(mirror, state)
    assert len(stored(honcho_server, "chat-x")) == 20


async def test_a_refused_batch_is_split_so_good_messages_go_through(mirror, state, honcho_server):
    for i in range(5):
        mirror.enqueue("u1", "chat-r", "user", f"r{i}")
    honcho_server.fail_next(1, status=422, kind="messages")
    assert await mirror.flush() == 5
    assert [m["content"] for m in stored(honcho_server, "chat-r")] == [f"r{i}" for i in range(5)]


async def test_overflow_is_counted_and_logged(tmp_path, honcho_server, caplog):
    settings = Settings(storage_root=tmp_path / "r2", honcho_url=honcho_server.url, outbox_max_items=5)
    settings.root.mkdir(parents=True)
    store = open_store(settings)
    try:
        m = HonchoMirror(store, settings)
        with caplog.at_level(logging.ERROR, logger="youlab_core.dialectic.mirror"):
            results = [m.enqueue("u1", "c", "user", f"x{i}") for i in range(7)]
        assert results == [True] * 5 + [False] * 2
        assert m.overflowed == 2 and store.outbox_stats().overflowed == 2
        assert "outbox is full" in caplog.text
    finally:
        store.close()


async def test_enqueue_never_raises(settings, honcho_server):
    class BrokenStore:
        def outbox_enqueue(self, payload, *, queue="honcho"):
            raise RuntimeError("database is locked")

    assert HonchoMirror(BrokenStore(), settings).enqueue("u1", "c", "user", "hi") is False


async def test_disabled_without_a_honcho_url(state, tmp_path):
    m = HonchoMirror(state, Settings(storage_root=tmp_path / "x"))
    assert m.enqueue("u1", "c", "user", "hi") is False and await m.flush() == 0


async def test_the_background_worker_delivers_and_stops(mirror, state, honcho_server):
    mirror.start()
    for i in range(10):
        mirror.enqueue("u9", "chat-bg", "user", f"bg {i}")
    for _ in range(200):
        if len(stored(honcho_server, "chat-bg")) == 10:
            break
        await asyncio.sleep(0.02)
    assert len(stored(honcho_server, "chat-bg")) == 10
    await mirror.stop()
    assert mirror._task is None


async def test_a_long_outage_never_turns_messages_dead(tmp_path, honcho_server):
    settings = Settings(storage_root=tmp_path / "r3", honcho_url=honcho_server.url, mirror_backoff_seconds=0,
                        mirror_backoff_max_seconds=0, outbox_max_attempts=3)
    settings.root.mkdir(parents=True)
    store = open_store(settings)
    try:
        m = HonchoMirror(store, settings)
        honcho_server.down()
        for i in range(10):
            m.enqueue("u1", "chat-long", "user", f"long {i}")
        for _ in range(12):  # four times the attempts after which the store would call them dead
            assert await m.flush() == 0
        assert store.outbox_stats().dead == 0 and store.outbox_stats().queued == 10
        honcho_server.up()
        while store.outbox_stats().queued:
            await m.flush()
        assert [x["content"] for x in stored(honcho_server, "chat-long")] == [f"long {i}" for i in range(10)]
        await m.stop()
    finally:
        store.close()
