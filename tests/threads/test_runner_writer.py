"""The runner's thread writer protocol: a runner StudentReport becomes a thread with a readable report."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from types import SimpleNamespace

from youlab_core.config import MergeStrategy, load_course
from youlab_core.runner.report import ProposedChange, QueryReport, StudentReport
from youlab_core.threads import MemoryChats, ThreadWriter
from youlab_core.threads.runner_writer import RunnerThreadWriter, pending_changes, run_report_from_student_report

COURSE = load_course(Path(__file__).resolve().parents[2] / "config/courses/college-essay/course.toml")
TASK = COURSE.task("milestone-tracker")


def student_report() -> StudentReport:
    q_list, q_profile = TASK.queries
    return StudentReport(
        "stu-1", "run-9", TASK.name, COURSE.id, "after_messages", status="succeeded",
        started_at=datetime(2026, 11, 24, 9, 0, tzinfo=timezone.utc),
        queries=[
            QueryReport(q_list, q_list.question, answer="They finished an outline.", change=ProposedChange(
                q_list.target, "journey", "milestones", MergeStrategy.append, [], ["Outline finished"], "from chat", "d-1")),
            QueryReport(q_profile, q_profile.question, answer="", skipped_reason="nothing new was learned"),
        ],
    )


def test_conversion_keeps_questions_answers_changes_and_skips():
    report = run_report_from_student_report(COURSE, TASK, student_report())
    assert (report.task, report.agent, report.course, report.run_id) == ("milestone-tracker", "Milestone Tracker", "college-essay", "run-9")
    assert [f.question for f in report.findings] == [q.question for q in TASK.queries]
    change = report.changes[0]
    assert (change.diff_id, change.target, change.after, change.merge) == ("d-1", "journey.milestones", "Outline finished", "append")
    assert any("nothing new was learned" in p for p in report.problems)


async def test_write_returns_the_chat_id_of_the_new_thread(tmp_path):
    chats = MemoryChats()
    writer = RunnerThreadWriter(ThreadWriter(chats, None))
    chat_id = await writer.write("stu-1", COURSE, TASK, student_report())
    chat = chats.chats[chat_id]
    assert chat.chat["models"] == ["youlab_agents.milestone-tracker"] and chat.meta["youlab"]["run_id"] == "run-9"
    content = chat.chat["messages"][0]["content"]
    assert "+Outline finished" in content and "Change id: `d-1`" in content


def diff(diff_id: str, run_id: str = "run-1") -> SimpleNamespace:
    """A pending diff as the memory store returns it (PendingDiff's field names)."""
    return SimpleNamespace(id=diff_id, run_id=run_id, target="journey.milestones", current_value=["Topic chosen"],
                           proposed_value=["Topic chosen", "Outline finished"], reasoning="Asked: ...",
                           operation=MergeStrategy.append)


def test_pending_diffs_become_pending_changes():
    assert pending_changes(None) is None
    [change] = pending_changes([diff("d-7")])
    assert (change.diff_id, change.target, change.status, change.merge) == ("d-7", "journey.milestones", "pending", "append")
    assert change.before == "Topic chosen" and change.after == "Topic chosen\nOutline finished"


async def test_the_reports_pending_diffs_and_status_reach_the_writer(state):
    chats = MemoryChats()
    writer = RunnerThreadWriter(ThreadWriter(chats, state))
    earlier = student_report()
    earlier.run_id, earlier.pending_diffs = "run-1", []
    first = await writer.write("stu-1", COURSE, TASK, earlier)
    failed = student_report()
    failed.run_id, failed.status, failed.pending_diffs = "run-2", "failed", [diff("d-1"), diff("d-old")]
    second = await writer.write("stu-1", COURSE, TASK, failed)
    assert writer.last is not None and writer.last.carried == ("d-old",)  # d-1 is in this report already
    assert writer.last.archived == ()  # a failed run archives nothing
    assert not chats.chats[first].archived and second != first
    done = student_report()
    done.run_id, done.pending_diffs = "run-3", [diff("d-old")]  # d-1 was decided; d-old waits in run-2's thread
    await writer.write("stu-1", COURSE, TASK, done)
    assert writer.last.archived == (first,) and writer.last.carried == ()


def test_the_chat_json_holds_plain_words_not_the_technical_error() -> None:
    from types import SimpleNamespace

    from youlab_core.threads.runner_writer import run_report_from_student_report

    query = SimpleNamespace(target="student.profile", question="Who?")
    failed = SimpleNamespace(query=query, question="Who?", answer="", error="ConnectError: [Errno 111] Connection refused to http://10.0.0.5:8000",
                             skipped_reason="", change=None)
    report = SimpleNamespace(queries=[failed], error="httpx.ReadTimeout: timed out at /srv/youlab/state.db", run_id="r1",
                             started_at=None)
    thread = run_report_from_student_report(SimpleNamespace(id="c"), SimpleNamespace(name="t", title="T"), report)
    text = str(thread.to_dict())
    assert "Errno" not in text and "10.0.0.5" not in text and "/srv" not in text and "httpx" not in text
    assert thread.findings[0].error and thread.problems


def test_values_held_back_are_listed_after_the_main_text_with_the_earlier_decision() -> None:
    from datetime import datetime, timezone
    from types import SimpleNamespace

    from youlab_core.runner.report import HeldBack
    from youlab_core.threads.report import render_report
    from youlab_core.threads.runner_writer import run_report_from_student_report

    held = HeldBack(target="student.schools", value=["Stanford"], reason="you rejected this on 2026-11-24",
                    diff_id="d1", status="rejected", decided_at=datetime(2026, 11, 24, tzinfo=timezone.utc))
    query = SimpleNamespace(query=SimpleNamespace(target="student.schools", question="Which schools?"),
                            question="Which schools?", answer="Stanford", error="", skipped_reason="", change=None)
    report = SimpleNamespace(queries=[query], error="", run_id="r1", started_at=None, held_back=[held])
    thread = run_report_from_student_report(SimpleNamespace(id="c"), SimpleNamespace(name="t", title="T"), report)
    text = render_report(thread)
    assert thread.held_back == ["`student.schools`: Stanford (you rejected this on 2026-11-24)"]
    details = text.index("Not proposed again")
    assert text.index("### Proposed changes") < details  # after the main text
    assert "Stanford (you rejected this on 2026-11-24)" in text[details:]
