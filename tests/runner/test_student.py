"""One student's run (youlab_core.runner.student): what it hands the thread writer."""

from __future__ import annotations

from tests.runner.conftest import by_hand


async def test_the_thread_writer_gets_the_agents_pending_diffs_after_the_run(make_runner, memory):
    seen: list[tuple[str, list[str] | None]] = []

    class Writer:
        async def write(self, user_id, course, task, report):
            pending = report.pending_diffs
            seen.append((report.status, None if pending is None else sorted(d.id for d in pending)))
            return f"chat-{user_id}"

    runner = make_runner(report_writer=Writer())
    first = await by_hand(runner, "grader", ["u1"])
    proposed = sorted(q.change.diff_id for q in first.student("u1").queries)
    assert seen == [("succeeded", proposed)]  # read after the run: its own proposals are pending
    memory.student("u1").reject(proposed[0], reviewer="student:u1")
    await by_hand(runner, "grader", ["u1"])
    # The second run holds the rejected change back (the student decided it) and reuses the two still pending.
    status, pending = seen[1]
    assert status == "succeeded" and pending is not None and len(pending) == 2
    assert proposed[0] not in pending and set(proposed[1:]) <= set(pending)
