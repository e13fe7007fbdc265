from __future__ import annotations

from youlab_core.threads import Change, ThreadReport, render_diff, render_report, thread_title
from youlab_core.threads.model import ChatRecord

from .conftest import make_report


def test_title_has_no_zero_padding():
    from datetime import datetime

    assert thread_title("Progression Grader", datetime(2026, 11, 4)) == "Progression Grader - Nov 4, 2026"
    assert thread_title("Milestone Tracker", datetime(2026, 1, 24)) == "Milestone Tracker - Jan 24, 2026"


def test_report_shows_questions_answers_errors_and_each_diff_with_id_and_status():
    text = render_report(make_report())
    assert "How far has the student progressed?" in text
    assert "> They drafted an opening about their grandmother." in text
    assert "No answer: the dialectic timed out" in text
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
