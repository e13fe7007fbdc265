"""The read-only guard: any source says "agent thread" -> read-only; survives archive/move/rename; fails closed."""

from __future__ import annotations

from pathlib import Path

import pytest

from youlab_core.guard import AgentThreadGuard, read_only_message
from youlab_core.state import open_store
from youlab_core.threads import MemoryChats, ThreadWriter
from tests.threads.conftest import make_report


class BrokenRegistry:
    def thread(self, chat_id):
        raise RuntimeError("database is locked")


@pytest.fixture
def state(tmp_path: Path):
    store = open_store(url=f"sqlite:///{tmp_path / 'state.db'}")
    yield store
    store.close()


@pytest.fixture
async def setup(state):
    chats = MemoryChats()
    ref = await ThreadWriter(chats, state).write_run("stu-1", make_report())
    plain = await chats.create_chat("stu-1", {"title": "Essay help", "models": ["college-essay-tutor"]}, folder_id=None, meta={})
    return chats, ref, plain


async def test_thread_is_recognised_by_every_source(state, setup):
    chats, ref, plain = setup
    info = await AgentThreadGuard(chats, state).is_agent_thread(ref.chat_id, "stu-1")
    assert info is not None and set(info.sources) == {"registry", "meta", "folder"}
    assert read_only_message(info) == (
        "This thread is written by the background agent Progression Grader and is read-only. "
        "Review its suggestions with the buttons under its report."
    )
    assert await AgentThreadGuard(chats, state).is_agent_thread(plain.id, "stu-1") is None


async def test_holds_after_archive_move_and_rename(state, setup):
    chats, ref, _ = setup
    guard = AgentThreadGuard(chats, state)
    await chats.archive_chat(ref.chat_id)
    chats.move(ref.chat_id, None)
    chats.rename(ref.chat_id, "my notes")
    info = await guard.is_agent_thread(ref.chat_id, "stu-1")
    assert info is not None and "folder" not in info.sources and {"registry", "meta"} <= set(info.sources)


async def test_each_source_alone_is_enough(state, setup):
    chats, ref, _ = setup
    # registry alone: the chat record says nothing any more
    record = chats.chats[ref.chat_id]
    chats.chats[ref.chat_id] = type(record)(record.id, record.user_id, "x", {"models": ["college-essay-tutor"]}, {}, None)
    info = await AgentThreadGuard(chats, state).is_agent_thread(ref.chat_id)
    assert info is not None and info.sources == ("registry",) and info.agent == "progression-grader"
    # folder alone
    chats.chats[ref.chat_id] = type(record)(record.id, record.user_id, "x", {"models": ["m"]}, {}, record.folder_id)
    info = await AgentThreadGuard(chats, None).is_agent_thread(ref.chat_id)
    assert info is not None and info.sources == ("folder",)
    # meta alone
    chats.chats[ref.chat_id] = type(record)(record.id, record.user_id, "x", {"models": ["m"]}, record.meta, None)
    assert (await AgentThreadGuard(chats, None).is_agent_thread(ref.chat_id)).sources == ("meta",)



async def test_a_chat_with_the_agent_model_and_its_messages_is_not_a_thread(state, setup):
    """An admin's manual-run chat: the agent's model and messages, no meta, no folder."""
    chats, ref, _ = setup
    record = chats.chats[ref.chat_id]
    copy = await chats.create_chat("admin", record.chat, folder_id=None, meta={})  # the agent model and its report
    assert "youlab_agents.progression-grader" in copy.models and copy.agent_messages()
    guard = AgentThreadGuard(chats, state)
    assert await guard.is_agent_thread(copy.id, "admin", model_id="youlab_agents.progression-grader") is None
    fresh = await chats.create_chat("admin", {"models": ["youlab_agents.progression-grader"], "history": {"messages": {}}}, folder_id=None, meta={})
    assert await guard.is_agent_thread(fresh.id, "admin", model_id="youlab_agents.progression-grader") is None


async def test_a_clone_keeps_the_threads_meta_and_stays_read_only(state, setup):
    chats, ref, _ = setup
    record = chats.chats[ref.chat_id]
    clone = await chats.create_chat("stu-1", record.chat, folder_id=record.folder_id, meta=record.meta)
    info = await AgentThreadGuard(chats, state).is_agent_thread(clone.id, "stu-1")
    assert info is not None and "registry" not in info.sources and "meta" in info.sources


async def test_broken_state_store_lets_the_chat_record_decide(setup):
    chats, ref, plain = setup
    guard = AgentThreadGuard(chats, BrokenRegistry())
    info = await guard.is_agent_thread(ref.chat_id)
    assert info is not None and "registry" in info.errors and "meta" in info.sources
    assert await guard.is_agent_thread(plain.id) is None  # fails open for counting's sake only where the chat says no


async def test_broken_chat_database_registry_decides_and_agent_model_fails_closed(state, setup):
    chats, ref, plain = setup
    chats.fail = True
    guard = AgentThreadGuard(chats, state)
    assert (await guard.is_agent_thread(ref.chat_id)).sources == ("registry",)
    assert await guard.is_agent_thread(plain.id, model_id="college-essay-tutor") is None
    info = await guard.is_agent_thread(plain.id, model_id="youlab_agents.progression-grader")
    assert info is not None and info.sources == ("request-model",)


async def test_nothing_readable_fails_closed(setup):
    chats, _, plain = setup
    chats.fail = True
    info = await AgentThreadGuard(chats, BrokenRegistry()).is_agent_thread(plain.id)
    assert info is not None and info.sources == ("unverifiable",) and set(info.errors) == {"registry", "chat"}


async def test_unsaved_chats_are_not_threads(state):
    guard = AgentThreadGuard(MemoryChats(), state)
    for chat_id in (None, "", "local:abc"):
        assert await guard.is_agent_thread(chat_id) is None


async def test_an_ordinary_verdict_is_reused_briefly_and_a_failed_read_is_never_reused(state, setup, monkeypatch):
    import youlab_core.guard as guard_module

    chats, ref, plain = setup
    guard = AgentThreadGuard(chats, state)
    reads: list[str] = []
    real_get = chats.get_chat

    async def counting_get(chat_id):
        reads.append(chat_id)
        return await real_get(chat_id)

    monkeypatch.setattr(chats, "get_chat", counting_get)
    assert await guard.is_agent_thread(plain.id) is None
    assert await guard.is_agent_thread(plain.id) is None  # the write guard, then the filter: one read
    assert reads == [plain.id]
    monkeypatch.setattr(guard_module, "ORDINARY_VERDICT_SECONDS", 0.0)
    assert await guard.is_agent_thread(plain.id) is None
    assert reads == [plain.id, plain.id]  # past the window it reads again
    chats.fail = False
    moved = await AgentThreadGuard(chats, None).is_agent_thread(ref.chat_id)
    assert moved is not None  # a thread is never remembered as ordinary
    broken = AgentThreadGuard(chats, BrokenRegistry())
    chats.fail = True
    assert await broken.is_agent_thread(plain.id) is not None  # nothing readable: fails closed
    chats.fail = False
    assert plain.id not in broken._ordinary  # that verdict was not remembered
