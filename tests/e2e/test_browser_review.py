"""Approve and reject from the page: the review action's buttons under an agent's report and its dialogs change the
student's pending diffs exactly as the API tests of the bundle expect (status, note, reviewer, memory written); the
dialogs and the notice name fields in plain words, never by id; a "Review each change" abandoned by closing the tab
does not come back when the chat is opened again."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from tests.e2e.student_world import StudentWorld, make_student_world
from tests.support.browser import StudentPage, failed_test_name
from tests.support.openwebui_stack import OpenWebUIHandle
from youlab_core.bundle.memory_view import field_label
from youlab_core.memory import PendingDiff

APPROVE_TASK = "progression-grader"
REJECT_TASK = "milestone-tracker"
DECISION_TIMEOUT_S = 30.0
# Open WebUI 0.12.4 re-sends an unanswered dialog within about a second of the user's next tab joining the chat
# (socket/main.py get_event_call polls every second); the check waits several times that.
RESUME_WAIT_MS = 6000


@pytest.fixture(scope="module")
def world(openwebui: OpenWebUIHandle) -> StudentWorld:
    return make_student_world(openwebui, "Review Student", (APPROVE_TASK, REJECT_TASK))


@pytest.fixture
def student(chromium, world: StudentWorld, request: pytest.FixtureRequest) -> Iterator[StudentPage]:
    page = StudentPage.open(chromium, world.ow.url, world.token)
    yield page
    page.close(failed_test=failed_test_name(request))


def thread_diffs(world: StudentWorld, task: str) -> list[PendingDiff]:
    run_id = world.chat(world.threads[task].chat_id)["meta"]["youlab"]["run_id"]
    return [d for d in world.diffs(task) if d.run_id == run_id]


def wait_for_statuses(world: StudentWorld, task: str, status: str) -> list[PendingDiff]:
    """Polls the student's repository (the action commits before it answers the page; this bounds the wait)."""
    deadline = time.monotonic() + DECISION_TIMEOUT_S
    while True:
        diffs = thread_diffs(world, task)
        if diffs and all(d.status.value == status for d in diffs):
            return diffs
        if time.monotonic() > deadline:
            raise AssertionError(f"{task}: statuses {[d.status.value for d in diffs]}, expected all {status}")
        time.sleep(0.2)


def dialog(student: StudentPage, title_start: str):
    box = student.page.locator(f"[role='dialog'][aria-label^='{title_start}']")
    box.wait_for()
    return box


def confirm(box) -> None:
    box.get_by_role("button", name="Confirm", exact=True).click()
    box.wait_for(state="detached")


def block_text(world: StudentWorld, diff: PendingDiff) -> str:
    """The block file the diff targets ("" while the block has never been written)."""
    path = world.ow.storage_root / "users" / world.user_id / "memory-blocks" / diff.course / f"{diff.block}.md"
    return path.read_text(encoding="utf-8") if path.exists() else ""


def test_approve_all_from_the_page(student: StudentPage, world: StudentWorld) -> None:
    thread = world.threads[APPROVE_TASK]
    pending = thread_diffs(world, APPROVE_TASK)
    assert pending and all(d.status.value == "pending" for d in pending)
    student.open_chat(thread.chat_id)
    student.wait_for_read_only()
    student.page.locator("#messages-container button[aria-label='Approve all changes']").last.click()
    box = dialog(student, "Approve ")
    for diff in pending:
        label = field_label(world.course(), diff.block, diff.field)
        assert label in box.inner_text() and diff.id not in box.inner_text()
    confirm(box)
    note = dialog(student, "Add a note")
    note.locator("textarea").fill("Yes, that is me")
    confirm(note)

    approved = wait_for_statuses(world, APPROVE_TASK, "approved")
    for diff in approved:
        assert diff.reviewed_by == f"student:{world.user_id}"
        assert diff.review_note == "Yes, that is me"
        assert diff.applied_commit
        assert str(diff.proposed_value).splitlines()[0] in block_text(world, diff)
    toast = student.page.locator("[data-sonner-toast]").filter(has_text="approved:").first
    toast.wait_for()
    count = len(pending)
    assert toast.inner_text().startswith(f"{count} change{'s' if count != 1 else ''} approved: \u201c")
    assert not any(diff.id in toast.inner_text() for diff in pending)
    # The report under the buttons is re-rendered from the store: the page shows the decision.
    student.page.locator("#messages-container").get_by_text("✅ approved").first.wait_for()
    assert student.page.locator("#messages-container").get_by_text("⏳ pending your review").count() == 0
    assert student.completions == []  # deciding is an action, not a message to the agent
    assert student.errors == []


def test_an_abandoned_review_each_does_not_come_back(chromium, world: StudentWorld) -> None:
    """The student starts "Review each change", closes the tab with the first dialog open, and opens the thread
    again: no dialog, nothing decided (Open WebUI would re-send the dialog to the new tab; the review binds each
    dialog to the tab that asked)."""
    thread = world.threads[REJECT_TASK]
    pending = thread_diffs(world, REJECT_TASK)
    assert pending and all(d.status.value == "pending" for d in pending)
    first = StudentPage.open(chromium, world.ow.url, world.token)
    again = None
    try:
        first.open_chat(thread.chat_id)
        first.wait_for_read_only()
        first.page.locator("#messages-container button[aria-label='Review each change']").last.click()
        dialog(first, f"Change 1 of {len(pending)}")
        first.page.close()  # the tab, with the dialog open
        again = StudentPage.open(chromium, world.ow.url, world.token)
        again.open_chat(thread.chat_id)
        again.wait_for_read_only()
        again.page.wait_for_timeout(RESUME_WAIT_MS)
        assert again.page.locator("[role='dialog']").count() == 0, "the abandoned review came back"
        assert all(d.status.value == "pending" for d in thread_diffs(world, REJECT_TASK))
        assert again.errors == []
    finally:
        for page in (again, first):
            if page is not None:
                page.close()


def test_reject_each_change_from_the_review_dialog(student: StudentPage, world: StudentWorld) -> None:
    thread = world.threads[REJECT_TASK]
    pending = thread_diffs(world, REJECT_TASK)
    assert pending and all(d.status.value == "pending" for d in pending)
    before = {d.id: block_text(world, d) for d in pending}
    student.open_chat(thread.chat_id)
    student.wait_for_read_only()
    student.page.locator("#messages-container button[aria-label='Review each change']").last.click()
    for index in range(1, len(pending) + 1):
        box = dialog(student, f"Change {index} of {len(pending)}")
        box.locator("select").select_option("reject")
        confirm(box)
        note = dialog(student, "Add a note")
        note.locator("textarea").fill("Not yet")
        confirm(note)

    rejected = wait_for_statuses(world, REJECT_TASK, "rejected")
    for diff in rejected:
        assert diff.reviewed_by == f"student:{world.user_id}"
        assert diff.review_note == "Not yet"
        assert not diff.applied_commit
        assert block_text(world, diff) == before[diff.id]
    student.page.locator("#messages-container").get_by_text("❌ rejected").first.wait_for()
    assert student.completions == []
    assert student.errors == []
