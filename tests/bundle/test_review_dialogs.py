"""The review's browser dialogs when the tab goes away (youlab_core/bundle/review.py `_ask`): every dialog is bound
to the tab that asked (Open WebUI 0.12.4 would otherwise show it again in the student's next tab), and a "Review
each change" whose tab closed stops, keeping what was already decided. The browser side is
tests/e2e/test_browser_review.py."""

from __future__ import annotations

from typing import Any

import pytest

from youlab_core.bundle.memory_actions import button
from youlab_core.bundle.review import review
from youlab_core.bundle.review_request import ReviewError
from youlab_core.threads.memory_view import memory_chat_id

from .test_review import action_body, make_thread

STUDENT = {"id": "stu-1", "role": "user"}
DISCONNECTED = {"error": "Client session disconnected."}  # what Open WebUI's event call answers then


def answering(*answers: Any) -> tuple[list[dict[str, Any]], Any]:
    asked: list[dict[str, Any]] = []
    queue = list(answers)

    async def event_call(event: dict[str, Any]) -> Any:
        asked.append(event)
        return queue.pop(0)
    return asked, event_call


async def test_every_dialog_stays_with_the_tab_that_asked(bundle_env) -> None:
    _, bundle, _ = bundle_env
    ref, _, _, _ = await make_thread(bundle, "stu-1", [("journey", "grader_notes", "A"), ("journey", "blockers", "B")])
    asked, call = answering(True, "")
    await review(bundle, "approve_all", {"chat_id": ref.chat_id}, STUDENT, event_call=call)
    more, call = answering("journey.status", "completed")
    await button(bundle, "edit", {"chat_id": memory_chat_id("stu-1", "college-essay")}, STUDENT, event_call=call)
    dialogs = asked + more
    assert {e["type"] for e in dialogs} == {"confirmation", "input"} and len(dialogs) == 4
    for event in dialogs:  # Open WebUI resumes a dialog in another tab only when its data names no session_id
        assert "session_id" in event["data"], event


async def test_a_review_whose_tab_closed_stops_and_keeps_what_was_decided(bundle_env) -> None:
    _, bundle, _ = bundle_env
    ref, changes, mem, _ = await make_thread(bundle, "stu-1", [("journey", "grader_notes", "A"), ("journey", "blockers", "B")])
    asked, call = answering("approve", "looks right", DISCONNECTED)
    await review(bundle, "review", {"chat_id": ref.chat_id}, STUDENT, event_call=call)
    assert len(asked) == 3, "nothing is asked after the tab closed"
    first, second = (mem.get_diff(c.diff_id) for c in changes)
    assert first.status.value == "approved" and first.review_note == "looks right"
    assert second.status.value == "pending"


async def test_a_review_whose_tab_closed_before_any_answer_decides_nothing(bundle_env) -> None:
    _, bundle, _ = bundle_env
    ref, changes, mem, _ = await make_thread(bundle, "stu-1", [("journey", "grader_notes", "A")])
    _, call = answering(DISCONNECTED)
    with pytest.raises(ReviewError, match="No browser session"):
        await review(bundle, "review", action_body(ref) | {"youlab": None}, STUDENT, event_call=call)
    assert mem.get_diff(changes[0].diff_id).status.value == "pending"
