from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timezone
from types import SimpleNamespace

import pytest

from youlab_core.threads import Change, Finding, ThreadReport, render_diff, render_report, thread_title
from youlab_core.threads.model import ChatRecord
from youlab_core.threads.report import TOO_SLOW, UNREACHABLE, WENT_WRONG, plain_problem, report_from_server

from .conftest import make_report


def test_title_has_no_zero_padding():
    from datetime import datetime

    assert thread_title("Progression Grader", datetime(2026, 11, 4)) == "Progression Grader - Nov 4, 2026"
    assert thread_title("Milestone Tracker", datetime(2026, 1, 24)) == "Milestone Tracker - Jan 24, 2026"


def test_report_shows_questions_answers_errors_and_each_diff_with_id_and_status():
    text = render_report(make_report())
    assert "How far has the student progressed?" in text
    assert "> They drafted an opening about their grandmother." in text
    assert "No answer: The agent waited too long for an answer; it will try again on its next run." in text
    assert "timed out" not in text  # the technical words stay in the run record and the log
    for i in range(2):
        assert f"Change id: `diff-run-1-{i}`" in text
        assert f"+new notes {i}" in text
    assert text.count("-old notes") == 2
    assert text.count("pending your review") == 2
    assert "2 changes waiting for you" in text


def test_decisions_rerender_statuses_and_notes():
    report = make_report().with_decisions({"diff-run-1-0": ("approved", "yes"), "diff-run-1-1": ("stale", "")})
    text = render_report(report)
    assert "✅ approved" in text and "Your note: yes" in text
    assert "stale: the field changed" in text
    assert "waiting for you" not in text and "Every change in this report has been decided" in text


def test_round_trip_through_dict():
    report = make_report()
    assert ThreadReport.from_dict(report.to_dict()) == report


def test_diff_fence_survives_backticks_in_content():
    rendered = render_diff("a", "```\nclosing fence attempt\n```")
    fence = rendered.split("diff", 1)[0]
    assert len(fence) >= 4 and rendered.rstrip().endswith(fence)


def test_no_changes_is_said_plainly():
    text = render_report(make_report(changes=0))
    assert "No changes proposed this time." in text


def test_agent_messages_ignore_fresh_chats():
    fresh = ChatRecord("c", "u", "New Chat", {"models": ["youlab_agents.x"], "history": {"messages": {
        "m": {"role": "assistant", "model": "youlab_agents.x", "content": ""}}}})
    assert fresh.agent_messages() == []
    change = Change("d", "a.b", "", "x")
    assert change.status == "pending"


@pytest.mark.parametrize(("error", "shown"), [
    ("HonchoError: 503 Service Unavailable from http://honcho:8000/v2/peers", UNREACHABLE),
    ("ConnectError: [Errno 111] Connection refused", UNREACHABLE),
    ("TimeoutError: ", TOO_SLOW),
    ("journey.blockers: the dialectic timed out after 120s", TOO_SLOW),
    ("KeyError: 'values' in /srv/youlab/users/stu-1/memory-blocks/journey.toml", WENT_WRONG),
    (UNREACHABLE, UNREACHABLE),  # already plain: unchanged
])
def test_errors_are_shown_in_plain_words(error, shown):
    assert plain_problem(error) == shown
    report = replace(make_report(), problems=[error])
    text = render_report(report)
    assert f"- {shown}" in text and (error == shown or error not in text)


def test_a_skipped_question_keeps_its_own_words():
    report = replace(make_report(), problems=["`journey.blockers`: nothing is known about this yet (no messages in scope)"])
    assert "- `journey.blockers`: nothing is known about this yet (no messages in scope)" in render_report(report)


def _diff(diff_id: str, target: str, status: str = "pending", **extra):
    block, field = target.split(".")
    return SimpleNamespace(id=diff_id, target=target, block=block, field=field, current_value=["a", "b"],
                           proposed_value=["a", "b", "c"], status=SimpleNamespace(value=status),
                           reasoning="Asked: What is blocking the student?\nLearned: Time management.",
                           source_query="What is blocking the student?", review_note=extra.get("note", ""),
                           operation=SimpleNamespace(value="append"))


def test_report_from_server_takes_everything_from_the_records():
    when = datetime(2026, 11, 24, 15, 30, tzinfo=timezone.utc)
    report = report_from_server(task="progression-grader", agent="Progression Grader", course="college-essay",
                                run_id="run-9", created_at=when, problems=[UNREACHABLE],
                                diffs=[_diff("d1", "journey.blockers", "rejected", note="not true")])
    assert (report.task, report.run_id, report.created_at) == ("progression-grader", "run-9", when.isoformat())
    [change] = report.changes
    assert (change.diff_id, change.status, change.note, change.merge) == ("d1", "rejected", "not true", "append")
    assert (change.before, change.after) == ("a\nb", "a\nb\nc")
    [finding] = report.findings
    assert (finding.question, finding.answer) == ("What is blocking the student?", "Time management.")
    text = render_report(report)
    assert "❌ rejected" in text and "Your note: not true" in text and UNREACHABLE in text


def test_report_from_server_keeps_the_stored_narrative_beside_the_diffs():
    """The registry's narrative (every question, problems, values held back) is the report's text beyond the
    changes: a question that led to no change and a skipped one stay after a review re-renders the report."""
    written = ThreadReport("progression-grader", "Progression Grader", "college-essay", "run-9", "2026-11-24T15:30:00+00:00",
                           findings=[Finding("What is blocking the student?", "journey.blockers", "Time management."),
                                     Finding("Which school?", "student.schools", "Nothing new."),
                                     Finding("What is the topic?", "essay.topic", "", error="no answer")],
                           problems=["`student.schools`: nothing new to propose"],
                           held_back=["`student.schools`: Stanford (rejected on 24 Nov 2026)"])
    report = report_from_server(task="progression-grader", agent="Progression Grader", course="college-essay",
                                run_id="run-9", created_at=datetime(2026, 11, 24, 15, 30, tzinfo=timezone.utc),
                                problems=[UNREACHABLE], narrative=written.narrative(),
                                diffs=[_diff("d1", "journey.blockers", "approved")])
    assert report.findings == written.findings
    assert report.problems == ["`student.schools`: nothing new to propose", UNREACHABLE]
    assert report.held_back == written.held_back
    assert [c.diff_id for c in report.changes] == ["d1"]
    text = render_report(report)
    assert "Which school?" in text and "Stanford (rejected on 24 Nov 2026)" in text


def test_a_malformed_stored_narrative_keeps_what_it_can():
    report = report_from_server(task="t", agent="T", course="c", run_id="r", created_at=datetime(2026, 11, 24, tzinfo=timezone.utc),
                                diffs=[], narrative={"findings": [{"question": "Q?"}, "junk", {"answer": "no question"}]})
    assert [(f.question, f.target, f.answer) for f in report.findings] == [("Q?", "", "")]
