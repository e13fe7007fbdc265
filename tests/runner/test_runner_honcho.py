"""The runner with the Honcho dialectic: messages reach Honcho through the mirror, the runner asks Honcho, proposes
changes with all three merge strategies (llm_diff through the demo model), and approvals reach Letta."""

from __future__ import annotations

from letta_client import Letta

from youlab_core.config import MergeStrategy
from youlab_core.dialectic import HonchoDialectic
from youlab_core.dialectic.honcho import honcho_client
from youlab_core.dialectic.mirror import HonchoMirror
from youlab_core.letta import LettaSync, agent_name

from .conftest import STUDENT_CHATS
from tests.runner.conftest import by_hand


async def test_honcho_runner_end_to_end_with_letta(settings, registry, memory, state, llm, source, honcho_server,
                                                   letta_server, make_runner):
    settings.honcho_url = honcho_server.url
    settings.letta_url = letta_server.url
    mirror = HonchoMirror(state, settings)
    for user, chats in STUDENT_CHATS.items():
        for i, (text,) in enumerate(chats):
            assert mirror.enqueue(user, f"{user}-chat{i}", "user", text)
            assert mirror.enqueue(user, f"{user}-chat{i}", "assistant", "Tell me more.")
    assert await mirror.flush() == 18
    await mirror.stop()

    letta = Letta(base_url=letta_server.url, max_retries=0)
    agent = letta.agents.create(name=agent_name("u1", "essay"),
                                memory_blocks=[{"label": "human", "value": ""}, {"label": "journey", "value": ""}])
    sync = LettaSync(settings, memory, state, registry=registry)
    memory.add_listener(sync)

    dialectic = HonchoDialectic(honcho_client(honcho_server.url, "", "youlab", timeout=5), source=source, timeout=5)
    report = await by_hand(make_runner(dialectic), "grader", ["u1", "u2"])
    assert report.succeeded == 2, [s.errors() for s in report.students]
    u1 = report.student("u1")
    ops = {q.target: q.change.operation for q in u1.queries if q.change}
    assert ops == {"student.insights": MergeStrategy.append, "journey.notes": MergeStrategy.replace,
                   "journey.approach": MergeStrategy.llm_diff}
    by_target = {q.target: q for q in u1.queries}
    assert "garden" in by_target["student.insights"].answer
    assert by_target["journey.notes"].sessions_used == ("u1-chat2", "u1-chat1")
    assert by_target["journey.approach"].sessions_used == ("u1-chat2",)
    # Honcho was asked once per query, each with the scope's sessions; u2's words never reach u1's answers.
    assert len(honcho_server.calls("chat")) == 6
    assert "rover" not in " ".join(q.answer for q in u1.queries)

    mem = memory.student("u1")
    for q in u1.queries:
        mem.approve(q.change.diff_id, reviewer="student:u1")
    sync.wait_idle()
    human = letta.agents.blocks.retrieve("human", agent_id=agent.id).value
    journey = letta.agents.blocks.retrieve("journey", agent_id=agent.id).value
    assert "garden" in human and "blunt" in journey
    await dialectic.aclose()
