"""The runner end to end: demo model as the LLM, embedded dialectic, real git memory and SQLite state store."""

from __future__ import annotations

import asyncio

import pytest

from youlab_core.config import MergeStrategy
from youlab_core.errors import ManualRunRefused
from youlab_core.scheduler import Scheduler
from tests.runner.conftest import by_hand


async def test_all_three_merge_strategies_end_to_end(make_runner, memory, registry, state):
    runner = make_runner()
    report = await by_hand(runner, "grader", ["u1"])
    student = report.student("u1")
    assert student.status == "succeeded", student.errors()
    changes = {q.target: q.change for q in student.queries}
    assert {t: c.operation for t, c in changes.items()} == {
        "student.insights": MergeStrategy.append,
        "journey.notes": MergeStrategy.replace,
        "journey.approach": MergeStrategy.llm_diff,
    }
    assert "garden" in changes["student.insights"].proposed_value
    assert changes["journey.notes"].current_value == ""
    assert changes["journey.approach"].current_value == "Be kind."
    assert changes["journey.approach"].proposed_value.startswith("Be kind.")  # the demo merge keeps what was there
    assert "blunt" in changes["journey.approach"].proposed_value
    # recent_limit = 2 and current read only what their scope allows.
    by_target = {q.target: q for q in student.queries}
    assert by_target["journey.notes"].sessions_used == ("u1-chat1", "u1-chat2")
    assert by_target["journey.approach"].sessions_used == ("u1-chat2",)
    assert by_target["student.insights"].sessions_used == ("u1-chat0", "u1-chat1", "u1-chat2")

    mem = memory.student("u1")
    course = registry.course("essay")
    pending = mem.list_diffs(status="pending")
    assert {d.id for d in pending} == {c.diff_id for c in changes.values()}
    for change in changes.values():
        mem.approve(change.diff_id, reviewer="student:u1")
        assert mem.read_field(course, change.block, change.field) == change.proposed_value

    record = state.get_run(student.run_id)
    assert record.status == "succeeded" and record.diffs_proposed == 3
    assert record.token_usage["total_tokens"] == student.usage.total_tokens > 0
    assert report.diffs_proposed == 3 and "diffs proposed" in report.render()


async def test_a_second_run_reuses_identical_pending_diffs(make_runner, memory):
    runner = make_runner()
    first = await by_hand(runner, "grader", ["u1"])
    second = await by_hand(runner, "grader", ["u1"])
    ids_first = sorted(q.change.diff_id for q in first.student("u1").queries)
    ids_second = sorted(q.change.diff_id for q in second.student("u1").queries)
    assert ids_first == ids_second
    assert all(q.change.reused for q in second.student("u1").queries)
    assert len(memory.student("u1").list_diffs(status="pending")) == 3


async def test_transient_llm_failures_are_retried(make_runner, demo_model, settings):
    demo_model.fail_next(settings.call_retries, status=503)
    report = await by_hand(make_runner(), "grader", ["u1"])
    student = report.student("u1")
    assert student.status == "succeeded", student.errors()
    assert student.queries[0].dialectic_attempts == 1 + settings.call_retries
    assert student.queries[0].merge_attempts == 1


async def test_exhausted_retries_fail_that_query_and_the_run_is_recorded(make_runner, demo_model, settings, state):
    demo_model.fail_next(settings.call_retries + 1, status=429)
    report = await by_hand(make_runner(), "grader", ["u1"])
    student = report.student("u1")
    assert student.status == "failed"
    assert "429" in student.queries[0].error
    assert student.queries[1].change is not None  # the other queries still ran
    record = state.get_run(student.run_id)
    assert record.status in ("retrying", "failed") and "429" in (record.error or "")


async def test_one_students_failure_never_stops_the_others(make_runner, source):
    class Broken(type(source)):
        async def list_chats(self, user_id):
            if user_id == "u2":
                raise ValueError("u2's chats are unreadable")
            return await super().list_chats(user_id)

    broken = Broken()
    broken.chats = source.chats
    from youlab_core.dialectic import EmbeddedDialectic

    runner = make_runner(EmbeddedDialectic(make_runner().llm, broken))
    report = await by_hand(runner, "grader", ["u1", "u2", "u3"])
    assert [s.status for s in report.students] == ["succeeded", "failed", "succeeded"]
    assert "unreadable" in report.student("u2").queries[0].error
    assert report.failed == 1 and report.diffs_proposed == 6


async def test_a_student_without_messages_gets_no_changes(make_runner, demo_model):
    report = await by_hand(make_runner(), "grader", ["nobody"])
    student = report.student("nobody")
    assert student.status == "succeeded" and student.diffs_proposed == 0
    assert all("nothing is known" in q.skipped_reason for q in student.queries)
    assert demo_model.requests == []


async def test_manual_false_is_refused(make_runner):
    with pytest.raises(ManualRunRefused):
        await by_hand(make_runner(), "no-manual", ["u1"])


async def test_a_student_already_running_is_skipped(make_runner, state, registry, settings):
    other = Scheduler(state, registry, lambda work: None, settings, owner="someone-else")
    works = other.claim_manual("grader", ["u1"])
    assert works
    report = await by_hand(make_runner(), "grader", ["u1", "u2"])
    assert report.student("u1").status == "skipped"
    assert report.student("u2").status == "succeeded"


async def test_concurrency_is_bounded(make_runner, settings, llm, source):
    from youlab_core.dialectic import EmbeddedDialectic

    class Slow(EmbeddedDialectic):
        running = 0
        peak = 0

        async def ask(self, *args, **kwargs):
            Slow.running += 1
            Slow.peak = max(Slow.peak, Slow.running)
            try:
                await asyncio.sleep(0.05)
                return await super().ask(*args, **kwargs)
            finally:
                Slow.running -= 1

    users = [f"s{i}" for i in range(10)]
    for u in users:
        source.add_chat(u, f"{u}-c", [("user", "I love writing about music.")])
    report = await by_hand(make_runner(Slow(llm, source)), "grader", users)
    assert report.succeeded == 10
    assert Slow.peak == settings.runner_concurrency


async def test_thread_writer_receives_the_report_and_its_chat_is_recorded(make_runner, state):
    class Writer:
        calls = []

        async def write(self, user_id, course, task, report):
            Writer.calls.append((user_id, course.id, task.name, report.diffs_proposed))
            return f"chat-{user_id}"

    report = await by_hand(make_runner(report_writer=Writer()), "grader", ["u1"])
    assert Writer.calls == [("u1", "essay", "grader", 3)]
    assert state.get_run(report.student("u1").run_id).thread_chat_id == "chat-u1"


async def test_a_manual_run_for_a_student_with_nothing_to_read_writes_no_empty_report(make_runner, source):
    class Writer:
        calls: list[str] = []

        async def write(self, user_id, course, task, report):
            Writer.calls.append(user_id)
            return f"chat-{user_id}"

    source.chats["newcomer"] = {}  # never wrote in the course
    report = await by_hand(make_runner(report_writer=Writer()), "grader", ["u1", "newcomer"])
    assert Writer.calls == ["u1"]
    newcomer = report.student("newcomer")
    assert newcomer is not None and newcomer.status == "succeeded" and newcomer.thread_chat_id is None
    assert newcomer.no_report.startswith("no report: nothing to read yet")
    assert report.student("u1").no_report == ""


async def test_the_scheduler_handler_reports_failed_students(make_runner, state, registry, settings, source):
    runner = make_runner()
    source.chats["u2"] = {}  # u2: nothing known, succeeds with no changes
    sched = Scheduler(state, registry, runner.run_work, settings)
    works = sched.claim_manual("grader", ["u1", "u2"])
    failures = {}
    for work in works:
        failures.update((await sched.execute(work)).failures)
    assert failures == {}
    runs = state.list_runs(task="grader")
    assert sorted(r.status for r in runs) == ["succeeded", "succeeded"]
    assert sorted(r.diffs_proposed for r in runs) == [0, 3]


async def test_a_field_edited_during_the_run_is_merged_again_from_its_new_value(make_runner, memory, registry, llm,
                                                                              source):
    from youlab_core.dialectic import EmbeddedDialectic

    course = registry.course("essay")

    class EditsMidRun(EmbeddedDialectic):
        async def ask(self, user_id, course_, query, **kwargs):
            if query.target == "journey.approach":  # the last query: the student edits an earlier field meanwhile
                await asyncio.to_thread(memory.student(user_id).write_field, course, "student", "insights",
                                        "Edited by me.", author=f"student:{user_id}")
            return await super().ask(user_id, course_, query, **kwargs)

    report = await by_hand(make_runner(EditsMidRun(llm, source)), "grader", ["u1"])
    change = report.student("u1").queries[0].change
    assert change.current_value == "Edited by me."
    assert change.proposed_value.startswith("Edited by me.") and "garden" in change.proposed_value
    assert memory.student("u1").get_diff(change.diff_id).current_value == "Edited by me."


async def test_a_failed_student_writes_nothing_half_way(make_runner, memory, demo_model, settings, llm, source):
    # The llm_diff merge (last query) fails for good: the other two changes are still proposed, and nothing else.
    from youlab_core.dialectic import EmbeddedDialectic

    class FailLast(EmbeddedDialectic):
        async def ask(self, user_id, course_, query, **kwargs):
            if query.target == "journey.approach":
                raise RuntimeError("the dialectic broke")
            return await super().ask(user_id, course_, query, **kwargs)

    report = await by_hand(make_runner(FailLast(llm, source)), "grader", ["u1"])
    student = report.student("u1")
    assert student.status == "failed" and "broke" in student.queries[2].error
    assert len(memory.student("u1").list_diffs(status="pending")) == 2


async def test_writes_in_worker_processes_give_the_same_result(settings, registry, memory, state, llm, source):
    from youlab_core.dialectic import EmbeddedDialectic
    from youlab_core.runner import Runner

    settings.runner_write_processes = 1
    runner = Runner(settings, registry, memory, state, EmbeddedDialectic(llm, source), llm)
    report = await by_hand(runner, "grader", ["u1", "u2"])
    await runner.aclose()
    assert report.succeeded == 2 and report.diffs_proposed == 6
    for user in ("u1", "u2"):
        pending = {d.id: d for d in memory.student(user).list_diffs(status="pending")}
        for q in report.student(user).queries:
            assert pending[q.change.diff_id].proposed_value == q.change.proposed_value
