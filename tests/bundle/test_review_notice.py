"""What the student reads after deciding (youlab_core/bundle/review_notice.py): the fields by title and description,
counted per decision, and why a change was not decided; ids only in the API's `youlab.results` lines. Through the
run thread's buttons and the memory view's."""

from __future__ import annotations

from typing import Any

from youlab_core.bundle.review import review
from youlab_core.bundle.review_notice import SAVE_FAILED, Outcome, notice
from youlab_core.threads.memory_view import memory_chat_id

from .test_review import action_body, make_thread

STUDENT = {"id": "stu-1", "role": "user"}
NOTES = "Your essay journey: The grader's latest assessment"
BLOCKERS = "Your essay journey: What is holding the student back right now"


def test_the_notice_counts_and_names_the_fields_and_says_why_one_was_not_decided() -> None:
    labels = {"d1": "Your essay: Topic", "d2": "Your essay: Colleges", "d3": "About you: Name", "d4": "About you: Age"}
    outcomes = [Outcome("d1", "approve", "done"), Outcome("d2", "approve", "done"), Outcome("d3", "reject", "done"),
                Outcome("d4", "approve", "refused", "the field changed since it was proposed"),
                Outcome("d9", "reject", "already", "approved"), Outcome("d2", "reject", "failed")]
    text = notice(outcomes, labels)
    assert text.startswith("2 changes approved: \u201cYour essay: Topic\u201d, \u201cYour essay: Colleges\u201d. "
                           "1 change rejected: \u201cAbout you: Name\u201d.")
    assert "\u201cAbout you: Age\u201d was not approved: the field changed since it was proposed." in text
    assert "\u201ca change\u201d was already approved; nothing done." in text
    assert f"\u201cYour essay: Colleges\u201d: {SAVE_FAILED}" in text
    assert not any(i in text for i in ("d1", "d2", "d3", "d4", "d9"))
    assert [o.line for o in outcomes[:2]] == ["`d1` approved.", "`d2` approved."]  # the API keeps the ids


def collecting() -> tuple[list[dict[str, Any]], Any]:
    seen: list[dict[str, Any]] = []

    async def emit(event: dict[str, Any]) -> None:
        seen.append(event)
    return seen, emit


async def test_a_run_threads_notice_and_dialogs_name_fields_not_ids(bundle_env) -> None:
    _, bundle, _ = bundle_env
    ref, changes, _, _ = await make_thread(bundle, "stu-1", [("journey", "grader_notes", "A"), ("journey", "blockers", "B")])
    seen, emit = collecting()
    asked: list[dict[str, Any]] = []

    async def event_call(event: dict[str, Any]) -> Any:
        asked.append(event)
        return True if event["type"] == "confirmation" else ""

    result = await review(bundle, "approve_all", {"chat_id": ref.chat_id, "id": ref.message_id}, STUDENT,
                          event_call=event_call, event_emitter=emit)
    [event] = seen
    assert event["data"]["content"] == f"2 changes approved: \u201c{NOTES}\u201d, \u201c{BLOCKERS}\u201d."
    listing = asked[0]["data"]["message"]
    assert NOTES in listing and BLOCKERS in listing
    for change in changes:
        assert change.diff_id not in listing and change.diff_id not in event["data"]["content"]
        assert change.target not in listing
    assert result["youlab"]["results"] == [f"`{c.diff_id}` approved." for c in changes]


async def test_review_each_asks_by_field_and_the_notice_reports_both_verbs(bundle_env) -> None:
    _, bundle, _ = bundle_env
    ref, changes, _, _ = await make_thread(bundle, "stu-1", [("journey", "grader_notes", "A"), ("journey", "blockers", "B")])
    answers = iter(["approve", "", "reject", "no"])
    titles: list[str] = []

    async def event_call(event: dict[str, Any]) -> Any:
        titles.append(event["data"]["title"])
        return next(answers)

    seen, emit = collecting()
    await review(bundle, "review", {"chat_id": ref.chat_id}, STUDENT, event_call=event_call, event_emitter=emit)
    assert titles[0] == f"Change 1 of 2: {NOTES}" and titles[2] == f"Change 2 of 2: {BLOCKERS}"
    assert seen[0]["data"]["content"] == (f"1 change approved: \u201c{NOTES}\u201d. "
                                          f"1 change rejected: \u201c{BLOCKERS}\u201d.")


async def test_the_memory_views_decisions_read_the_same(bundle_env) -> None:
    _, bundle, _ = bundle_env
    ref, changes, _, _ = await make_thread(bundle, "stu-1", [("journey", "blockers", "Time.")])
    await review(bundle, "reject_all", action_body(ref, confirm=True), STUDENT)  # writes the view
    _, more, _, _ = await make_thread(bundle, "stu-1", [("journey", "grader_notes", "Good.")])
    seen, emit = collecting()
    body = {"model": "youlab_agents.youlab:memory", "chat_id": memory_chat_id("stu-1", "college-essay"), "id": "x",
            "messages": [], "youlab": {"confirm": True}}
    result = await review(bundle, "approve_all", body, STUDENT, event_emitter=emit)
    assert seen[0]["data"]["content"] == f"1 change approved: \u201c{NOTES}\u201d."
    assert result["youlab"]["results"] == [f"`{more[0].diff_id}` approved."] and "notice" not in result["youlab"]
