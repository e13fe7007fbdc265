"""Building the runner outside Open WebUI: `make_handler` for `youlab scheduler`."""

from __future__ import annotations

import pytest

from youlab_core.dialectic.mirror import HonchoMirror
from youlab_core.errors import ConfigError
from youlab_core.runner import make_handler
from youlab_core.scheduler import Scheduler


async def test_make_handler_runs_scheduler_work_with_honcho(settings, registry, state, honcho_server, demo_model,
                                                           memory):
    settings.honcho_url = honcho_server.url
    settings.llm_base_url, settings.llm_model = demo_model.base_url, "youlab-demo"
    mirror = HonchoMirror(state, settings)
    mirror.enqueue("u1", "u1-chat", "user", "I love writing about my grandmother's garden.")
    assert await mirror.flush() == 1
    handler = make_handler(settings, registry, state)
    sched = Scheduler(state, registry, handler, settings)
    failures = {}
    for work in sched.claim_manual("grader", ["u1"]):
        failures.update((await sched.execute(work)).failures)
    assert failures == {}
    assert [r.status for r in state.list_runs(task="grader")] == ["succeeded"]
    assert memory.student("u1").list_diffs(status="pending")


def test_make_handler_refuses_without_a_way_to_read_chats(settings, registry, state, demo_model, monkeypatch):
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.delenv("DATA_DIR", raising=False)
    settings.llm_base_url, settings.llm_model = demo_model.base_url, "youlab-demo"
    with pytest.raises(ConfigError, match="honcho_url"):
        make_handler(settings, registry, state)
