"""Letta sync on approval, with the real letta-client against the Letta test server (v1 wire protocol)."""

from __future__ import annotations

import time

import pytest
from letta_client import Letta

from youlab_core.letta import LettaSync, agent_name, render_block_text
from youlab_core.memory import MemoryStore
from youlab_core.settings import Settings
from youlab_core.state import open_store
from tests.dialectic.fakes import essay_registry


@pytest.fixture
def settings(tmp_path, letta_server):
    return Settings(storage_root=tmp_path / "root", config_dir=tmp_path / "config", letta_url=letta_server.url,
                    letta_timeout_seconds=2, letta_retry_seconds=0.01)


@pytest.fixture
def registry(settings):
    return essay_registry(settings.config_dir)


@pytest.fixture
def letta(letta_server):
    return Letta(base_url=letta_server.url, max_retries=0)


@pytest.fixture
def memory(settings, registry):
    return MemoryStore.from_settings(settings, courses=registry)


@pytest.fixture
def state(settings):
    store = open_store(settings, url=f"sqlite:///{settings.root / 'state.db'}")
    yield store
    store.close()


@pytest.fixture
def sync(settings, memory, registry, state):
    listener = LettaSync(settings, memory, state, registry=registry)
    memory.add_listener(listener)
    yield listener
    listener.close()


def make_agent(letta, user="u1", labels=("human", "journey")):
    return letta.agents.create(name=agent_name(user, "essay"),
                               memory_blocks=[{"label": label, "value": ""} for label in labels])


def propose(memory, registry, user="u1", value="Loves gardens."):
    course = registry.course("essay")
    mem = memory.student(user)
    return mem, mem.propose(course, agent="grader", run_id="r1", block="student", field="insights",
                            operation="append", proposed_value=value, reasoning="r", confidence="high",
                            source_query="q")


def block_value(letta, agent, label):
    return letta.agents.blocks.retrieve(label, agent_id=agent.id).value


def test_an_approval_writes_the_labelled_block(letta, memory, registry, sync):
    agent = make_agent(letta)
    mem, diff = propose(memory, registry)
    mem.approve(diff.id, reviewer="student:u1")
    sync.wait_idle(60)  # generous: the suite may run on a loaded machine
    expected = render_block_text(registry.course("essay"), "student", {"insights": "Loves gardens.", "profile": ""})
    assert block_value(letta, agent, "human") == expected == "insights: Loves gardens.\nprofile:"
    assert sync.pending() == [] and sync.synced == 1


def test_an_outage_never_blocks_the_approval_and_catches_up(letta, letta_server, memory, registry, sync):
    agent = make_agent(letta)
    letta_server.set_latency(1.5, "agents")
    letta_server.down()
    mem, diff = propose(memory, registry)
    started = time.perf_counter()
    approved = mem.approve(diff.id, reviewer="student:u1")
    assert time.perf_counter() - started < 1.0  # the approval did not wait for Letta
    assert approved.status.value == "approved"
    sync.wait_idle(60)  # generous: the suite may run on a loaded machine
    assert [p.block for p in sync.pending()] == ["student"] and "503" in sync.pending()[0].last_error + sync.failures[-1]
    letta_server.up()
    letta_server.set_latency(0, "agents")
    import asyncio

    assert asyncio.run(sync.retry_pending(force=True)) == 1
    assert block_value(letta, agent, "human").startswith("insights: Loves gardens.")
    assert sync.pending() == []


def test_a_missing_agent_is_recorded_and_retried_later(letta, memory, registry, sync):
    mem, diff = propose(memory, registry)
    mem.approve(diff.id, reviewer="student:u1")
    sync.wait_idle(60)  # generous: the suite may run on a loaded machine
    assert "no Letta agent named 'youlab_u1_essay'" in sync.pending()[0].last_error
    agent = make_agent(letta)
    import asyncio

    assert asyncio.run(sync.retry_pending(force=True)) == 1
    assert block_value(letta, agent, "human").startswith("insights: Loves gardens.")


def test_a_missing_label_is_recorded(letta, memory, registry, sync):
    make_agent(letta, labels=("journey",))
    mem, diff = propose(memory, registry)
    mem.approve(diff.id, reviewer="student:u1")
    sync.wait_idle(60)  # generous: the suite may run on a loaded machine
    assert "no block labelled 'human'" in sync.pending()[0].last_error


def test_retries_send_the_latest_approved_value(letta, letta_server, memory, registry, sync):
    agent = make_agent(letta)
    letta_server.down()
    mem, first = propose(memory, registry, value="First.")
    mem.approve(first.id, reviewer="student:u1")
    mem, second = propose(memory, registry, value="Second.")
    mem.approve(second.id, reviewer="student:u1")
    sync.wait_idle(60)  # generous: the suite may run on a loaded machine
    assert len(sync.pending()) == 1  # one record per block, however many approvals
    letta_server.up()
    import asyncio

    asyncio.run(sync.retry_pending(force=True))
    assert block_value(letta, agent, "human").startswith("insights: Second.")


def test_agents_are_found_across_pages(letta, letta_server, memory, registry, sync):
    letta_server.page_limit = 2
    for i in range(5):
        letta.agents.create(name=f"someone-else-{i}", memory_blocks=[{"label": "human", "value": ""}])
    agent = make_agent(letta)
    mem, diff = propose(memory, registry)
    mem.approve(diff.id, reviewer="student:u1")
    sync.wait_idle(60)  # generous: the suite may run on a loaded machine
    assert block_value(letta, agent, "human").startswith("insights: Loves gardens.")


def test_render_block_text_lists_and_multiline():
    from tests.dialectic.fakes import course

    text = render_block_text(course(), "journey", {"notes": "line one\nline two", "milestones": ["a", "b"],
                                                     "approach": "x"})
    assert text == "notes:\n  line one\n  line two\nmilestones:\n  - a\n  - b\napproach: x"


def test_failed_writes_catch_up_by_themselves_once_letta_is_back(letta, letta_server, memory, registry, sync):
    agent = make_agent(letta)
    letta_server.down()
    mem, diff = propose(memory, registry)
    mem.approve(diff.id, reviewer="student:u1")
    sync.wait_idle(60)  # generous: the suite may run on a loaded machine
    assert sync.pending()
    letta_server.up()
    deadline = time.monotonic() + 10
    while sync.pending() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert sync.pending() == []
    assert block_value(letta, agent, "human").startswith("insights: Loves gardens.")
    sync.close()


def test_retries_survive_a_restart(tmp_path, settings, letta, letta_server, registry):
    """A write that failed before a restart is delivered by the next process, from the state store's outbox."""
    settings.letta_retry_seconds = 0.05
    url = f"sqlite:///{tmp_path / 'restart-state.db'}"
    agent = make_agent(letta)
    letta_server.down()
    state = open_store(settings, url=url)
    memory = MemoryStore.from_settings(settings, courses=registry)
    before = LettaSync(settings, memory, state, registry=registry)
    memory.add_listener(before)
    mem, diff = propose(memory, registry)
    mem.approve(diff.id, reviewer="student:u1")
    before.wait_idle()
    assert before.pending() and before.synced == 0
    before.close()  # the process stops while Letta is still down
    state.close()

    letta_server.up()
    state = open_store(settings, url=url)
    try:
        assert state.outbox_stats(queue="letta").queued == 1
        after = LettaSync(settings, MemoryStore.from_settings(settings, courses=registry), state, registry=registry)
        deadline = time.monotonic() + 10
        while state.outbox_stats(queue="letta").queued and time.monotonic() < deadline:
            time.sleep(0.05)
        after.close()
        assert state.outbox_stats(queue="letta").queued == 0 and after.synced == 1
        assert block_value(letta, agent, "human").startswith("insights: Loves gardens.")
    finally:
        state.close()


def test_without_a_state_store_a_write_is_tried_once(letta, letta_server, settings, memory, registry):
    agent = make_agent(letta)
    sync = LettaSync(settings, memory, None, registry=registry)
    memory.add_listener(sync)
    mem, diff = propose(memory, registry)
    mem.approve(diff.id, reviewer="student:u1")
    sync.wait_idle(60)  # generous: the suite may run on a loaded machine
    assert sync.synced == 1 and block_value(letta, agent, "human").startswith("insights: Loves gardens.")
    letta_server.down()
    mem, diff = propose(memory, registry, value="Later.")
    mem.approve(diff.id, reviewer="student:u1")  # never raises, though nothing can keep the write for a retry
    sync.wait_idle(60)  # generous: the suite may run on a loaded machine
    assert sync.synced == 1 and sync.pending() == [] and "503" in sync.failures[-1]
