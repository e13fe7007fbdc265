"""Fixtures for runner tests: a course, a real state store (SQLite), real per-student git memory, the demo model."""

from __future__ import annotations

import pytest

from youlab_core.dialectic import EmbeddedDialectic
from youlab_core.llm import OpenAICompatibleLLM
from youlab_core.memory import MemoryStore
from youlab_core.manual import manual_run
from youlab_core.runner import Runner, TaskRunReport
from youlab_core.scheduler import Scheduler
from youlab_core.settings import Settings
from youlab_core.state import open_store
from tests.dialectic.fakes import FakeSource, essay_registry

STUDENT_CHATS = {
    "u1": [("I love writing about my grandmother's garden and the tomatoes we grew.",),
           ("My essay topic is resilience, told through the garden.",),
           ("Please give me blunt, direct feedback on each paragraph.",)],
    "u2": [("I write about robotics club and building a rover.",),
           ("My essay topic is the rover that failed and what I learned.",),
           ("I like gentle feedback with examples.",)],
    "u3": [("I love writing about my little brother and soccer.",),
           ("My essay topic is coaching my brother's soccer team.",),
           ("Direct feedback works for me, with one thing to fix at a time.",)],
}


def fill(source: FakeSource, users=STUDENT_CHATS) -> None:
    for user, chats in users.items():
        for i, (text,) in enumerate(chats):
            source.add_chat(user, f"{user}-chat{i}", [("user", text), ("assistant", "Tell me more.")], minutes=i)


@pytest.fixture
def settings(tmp_path):
    return Settings(data_dir=tmp_path / "data", storage_root=tmp_path / "root", config_dir=tmp_path / "config",
                    call_backoff_seconds=0.01, call_backoff_max_seconds=0.05, runner_concurrency=4,
                    call_retries=2, call_timeout_seconds=5, dialectic_timeout_seconds=5, retry_backoff_seconds=0)


@pytest.fixture
def registry(settings):
    return essay_registry(settings.config_dir)


@pytest.fixture
def state(settings):
    settings.root.mkdir(parents=True, exist_ok=True)
    store = open_store(settings)
    yield store
    store.close()


@pytest.fixture
def memory(settings, registry):
    return MemoryStore.from_settings(settings, courses=registry)


@pytest.fixture
def source():
    s = FakeSource()
    fill(s)
    return s


@pytest.fixture
async def llm(demo_model):
    client = OpenAICompatibleLLM(demo_model.base_url, "k", "youlab-demo", timeout=5)
    yield client
    await client.aclose()


@pytest.fixture
def make_runner(settings, registry, memory, state, llm, source):
    def make(dialectic=None, **kwargs):
        dialectic = dialectic or EmbeddedDialectic(llm, source, timeout=5)
        return Runner(settings, registry, memory, state, dialectic, llm, **kwargs)

    return make


async def by_hand(runner: Runner, task: str, users: list[str]) -> TaskRunReport:
    """A manual run as the bundle and `youlab run` make it: the scheduler claims and settles, the runner runs."""
    scheduler = Scheduler(runner.runs, runner.registry, runner.run_work, runner.settings)  # type: ignore[arg-type]
    return await manual_run(scheduler, runner, task, users)
