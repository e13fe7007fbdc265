"""Runs that learn from the student's decisions (youlab_core.runner.decided), with the deterministic demo model:
a rejected or undone value is held back, new evidence allows a new and different value, and the student's earlier
decisions (with their notes) reach the next question's prompt."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

from youlab_core.memory import DiffStatus
from youlab_core.prompts import DialecticTask, parse_task

from tests.runner.conftest import by_hand

NOTES = "journey.notes"  # replace, scope recent (2 chats): "What essay topic did the student choose?"
INSIGHTS = "student.insights"  # append, scope all: "What does the student love to write about?"


def query(report, user: str, target: str):
    return next(q for q in report.student(user).queries if q.target == target)


def later_chat(source, user: str, chat_id: str, text: str) -> None:
    """A chat written after everything the store decided so far (FakeSource times are T0 + minutes)."""
    from tests.dialectic.fakes import T0

    minutes = int((datetime.now(timezone.utc) + timedelta(minutes=5) - T0).total_seconds() // 60)
    source.add_chat(user, chat_id, [("user", text), ("assistant", "Tell me more.")], minutes=minutes)


def dialectic_prompts(demo_model, question: str) -> list[DialecticTask]:
    found = []
    for request in demo_model.requests:
        task = parse_task((request.body or {}).get("messages", [])) if isinstance(request.body, dict) else None
        if isinstance(task, DialecticTask) and task.question == question:
            found.append(task)
    return found


async def test_a_rejected_value_is_held_back_and_its_note_reaches_the_next_question(make_runner, memory, demo_model):
    runner = make_runner()
    first = await by_hand(runner, "grader", ["u1"])
    rejected = query(first, "u1", NOTES).change
    memory.student("u1").reject(rejected.diff_id, reviewer="student:u1", note="I have not chosen yet")
    decided_on = memory.student("u1").get_diff(rejected.diff_id).reviewed_at

    second = await by_hand(runner, "grader", ["u1"])
    notes = query(second, "u1", NOTES)
    assert notes.change is None and notes.error == "" and notes.skipped_reason == ""
    held = notes.held_back
    assert held is not None and held.diff_id == rejected.diff_id and held.status == "rejected"
    assert held.value == rejected.proposed_value and held.decided_at == decided_on
    assert held.reason == f"you rejected this on {decided_on:%Y-%m-%d}" and held.note == "I have not chosen yet"
    assert second.student("u1").held_back == [held] and second.held_back == 1
    assert [d.proposed_value for d in memory.student("u1").list_diffs("pending", field="notes")] == []
    text = second.render(details=True)
    assert f"held back: {rejected.proposed_value}" in text and "I have not chosen yet" in text
    assert "held back (already decided)  1" in second.render(details=False)
    # The other questions reuse their pending diffs; nothing else is held back.
    assert all(q.change is not None and q.change.reused for q in second.student("u1").queries if q.target != NOTES)

    question = next(q.query.question for q in second.student("u1").queries if q.target == NOTES)
    first_prompt, second_prompt = dialectic_prompts(demo_model, question)
    assert first_prompt.decisions == []
    assert notes.decisions_in_prompt == 1
    [sentence] = second_prompt.decisions
    assert sentence.startswith("the student rejected ") and f"on {decided_on:%Y-%m-%d}" in sentence
    assert sentence == (f'the student rejected {json.dumps(rejected.proposed_value)} on {decided_on:%Y-%m-%d}, '
                        'saying "I have not chosen yet"')


async def test_new_evidence_allows_a_new_value_but_never_a_rejected_one(make_runner, memory, source):
    runner = make_runner()
    first = await by_hand(runner, "grader", ["u1"])
    student = memory.student("u1")
    notes, insights = query(first, "u1", NOTES).change, query(first, "u1", INSIGHTS).change
    student.reject(notes.diff_id, reviewer="student:u1")
    student.reject(insights.diff_id, reviewer="student:u1", note="too personal")

    # A newer message: what the student writes about is unchanged (the same value comes back, still held back),
    # but the essay topic changed (a new, different value is proposed).
    later_chat(source, "u1", "u1-later", "My essay topic is now the night my grandfather taught me to sail.")
    second = await by_hand(runner, "grader", ["u1"])
    new_notes = query(second, "u1", NOTES)
    assert new_notes.held_back is None and new_notes.change is not None and not new_notes.change.reused
    assert "sail" in new_notes.change.proposed_value and new_notes.change.proposed_value != notes.proposed_value
    assert new_notes.newest_message_at is not None
    held = query(second, "u1", INSIGHTS).held_back
    assert held is not None and held.diff_id == insights.diff_id and held.note == "too personal"


async def test_no_new_evidence_holds_back_even_a_different_value(make_runner, memory):
    runner = make_runner()
    first = await by_hand(runner, "grader", ["u1"])
    student = memory.student("u1")
    notes = query(first, "u1", NOTES).change
    student.reject(notes.diff_id, reviewer="student:u1")
    # The student edits the field: the same answer now merges into a different value (replace keeps the answer,
    # so use the append field instead, whose merged value depends on the field's current value).
    insights = query(first, "u1", INSIGHTS).change
    student.reject(insights.diff_id, reviewer="student:u1")
    student.write_field(runner.registry.course("essay"), "student", "insights", "Likes gardens.",
                        author="student:u1")
    second = await by_hand(runner, "grader", ["u1"])
    held = query(second, "u1", INSIGHTS).held_back
    assert held is not None and held.value != insights.proposed_value  # a different value, the same old chats
    assert held.reason.startswith("nothing new was said since you rejected a change to this field on ")


async def test_an_undone_value_is_not_proposed_again(make_runner, memory, registry):
    runner = make_runner()
    first = await by_hand(runner, "grader", ["u1"])
    student = memory.student("u1")
    change = query(first, "u1", NOTES).change
    student.approve(change.diff_id, reviewer="student:u1")
    student.undo(change.diff_id, reviewer="student:u1", note="wrong essay")
    assert student.read_field(registry.course("essay"), "journey", "notes") == ""

    second = await by_hand(runner, "grader", ["u1"])
    held = query(second, "u1", NOTES).held_back
    assert held is not None and held.status == "undone" and held.diff_id == change.diff_id
    assert held.reason.startswith("you undid this on ") and held.note == "wrong essay"
    assert student.list_diffs("pending", field="notes") == []
    assert student.get_diff(change.diff_id).status is DiffStatus.undone


async def test_a_pending_or_held_value_differing_only_in_case_and_spacing_is_not_proposed(make_runner, memory,
                                                                                          registry):
    runner = make_runner()
    first = await by_hand(runner, "grader", ["u1"])
    student = memory.student("u1")
    change = query(first, "u1", NOTES).change
    student.approve(change.diff_id, reviewer="student:u1")
    course = registry.course("essay")
    student.write_field(course, "journey", "notes", "  " + change.proposed_value.upper() + "\n", author="student:u1")
    second = await by_hand(runner, "grader", ["u1"])
    notes = query(second, "u1", NOTES)
    assert notes.change is None and notes.held_back is None
    assert notes.skipped_reason == "the answer adds nothing to the field"  # the field already holds it
