"""Cancelling a run part way leaves every student's repository consistent and every claim released."""

from __future__ import annotations

import asyncio

import git

from youlab_core.dialectic import EmbeddedDialectic
from tests.runner.conftest import by_hand


async def test_cancel_mid_run_leaves_no_half_written_state(make_runner, demo_model, llm, source, memory, state,
                                                           settings):
    users = [f"c{i}" for i in range(8)]
    for u in users:
        source.add_chat(u, f"{u}-chat", [("user", "I love writing about jazz and my trumpet."),
                                          ("user", "Blunt feedback please.")])
    demo_model.set_latency(0.05)
    runner = make_runner(EmbeddedDialectic(llm, source))
    run = asyncio.create_task(by_hand(runner, "grader", users))
    # Wait until some diffs exist, then cancel while others are still being computed.
    for _ in range(400):
        await asyncio.sleep(0.01)
        proposed = sum(len(memory.student(u).list_diffs(status="pending")) for u in users)
        if proposed >= 3:
            break
    assert not run.done()
    run.cancel()
    try:
        await run
    except asyncio.CancelledError:
        pass
    await asyncio.sleep(0.2)  # any memory write already under way has ended (the runner waits for it anyway)

    proposed_total = 0
    for user in users:
        root = settings.users_root / user
        if not root.exists():
            continue
        repo = git.Repo(root)
        assert not repo.is_dirty(untracked_files=True), f"{user}: {repo.git.status()}"
        diffs = memory.student(user).list_diffs()
        proposed_total += len(diffs)
        for diff in diffs:  # every diff file is whole and committed
            assert diff.status.value == "pending"
    assert 3 <= proposed_total < 2 * len(users)  # cancelled part way: some students had no changes yet

    runs = state.list_runs(task="grader", limit=100)
    assert runs and all(r.status not in ("running", "claimed") for r in runs), [(r.user_id, r.status) for r in runs]

    # The claims were given back: a new run covers everyone, and reuses what the cancelled one already proposed.
    demo_model.set_latency(0)
    report = await by_hand(runner, "grader", users)
    assert report.succeeded == len(users), [s.errors() for s in report.students]
    for user in users:
        pending = {d.id for d in memory.student(user).list_diffs(status="pending")}
        reported = {q.change.diff_id for q in report.student(user).queries if q.change}
        assert pending == reported  # nothing proposed twice, nothing lost
