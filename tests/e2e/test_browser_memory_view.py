"""The student's memory view in a real browser (docs/memory-view.md): the pinned "Your memory — <course>" chat is in
the sidebar and opens in one click; it reads in plain words (block titles, field descriptions, values, who changed
them); Approve all, History, Undo, Edit and Download work through Open WebUI's dialogs, each checked in the student's
git repository and, for undo and edit, in the tutor's next system prompt; the view survives a reload; another
student's browser is refused by the server and can act on nothing.

The tests share one student and one browser tab and run in file order: each step starts from the memory the step
before left (approved, then undone, then edited), as a student would use the view. The view's screenshot for the
README (docs/images/memory-view.png) is taken once the student approved the agent's changes.
"""

from __future__ import annotations

import io
import json
import re
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import git
import pytest

from tests.e2e.student_world import COURSE_ID, StudentWorld, make_student_world
from tests.support.browser import StudentPage, failed_test_name
from tests.support.openwebui_stack import OpenWebUIHandle
from tests.support.student_repo import commit_ids, students_commits_since
from youlab_core.memory import PendingDiff
from youlab_core.threads.memory_view import memory_chat_id, view_title

TASK = "progression-grader"
EDIT_FIELD = ("journey", "blockers")
EDITED = "Choosing between two opening scenes"
TUTOR_SYSTEM = "college-essay coach"  # a phrase of the course's tutor system prompt (config/courses/college-essay)
SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "images" / "memory-view.png"
WAIT_S = 30.0
READ_ONLY_BANNER = "Read-only: what your tutor knows about you. Change it with the buttons under it."
REVIEW_BUTTONS = ("Approve all changes", "Reject all changes", "Review each change")  # youlab_review
MEMORY_BUTTONS = ("History of a field", "Undo a change", "Edit a field", "Download my data")  # youlab_memory


@pytest.fixture(scope="module")
def world(openwebui: OpenWebUIHandle) -> StudentWorld:
    return make_student_world(openwebui, "Memory Student", (TASK,))


@pytest.fixture(scope="module")
def student(chromium: Any, world: StudentWorld) -> Iterator[StudentPage]:
    page = StudentPage.open(chromium, world.ow.url, world.token)
    page.add_login_cookie(world.token)  # what the login form leaves too: file links open with it
    yield page
    page.close()


@pytest.fixture(autouse=True)
def screenshot_on_failure(student: StudentPage, request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    if name := failed_test_name(request):
        student.screenshot(f"failed-{name}")


def view_id(world: StudentWorld) -> str:
    return memory_chat_id(world.user_id, COURSE_ID)


def view_text(student: StudentPage) -> str:
    return student.page.locator("#messages-container").inner_text()


def wait_for_view_text(student: StudentPage, text: str) -> str:
    student.page.locator("#messages-container").get_by_text(text, exact=False).first.wait_for()
    return view_text(student)


def repo(world: StudentWorld) -> git.Repo:
    return git.Repo(world.ow.storage_root / "users" / world.user_id)


def wait_until(what: str, check: Any) -> Any:
    """Polls the server side (the action commits before it answers the page; this bounds the wait)."""
    deadline = time.monotonic() + WAIT_S
    while not (value := check()):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.2)
    return value


def field_diffs(world: StudentWorld, block: str, field: str) -> list[PendingDiff]:
    return [d for d in world.diffs(TASK) if (d.block, d.field) == (block, field)]


def close_notifications(student: StudentPage) -> None:
    """Dismiss Open WebUI's toasts (the action's "approved" notice), so the screenshot shows the view alone."""
    toasts = student.page.locator("[data-sonner-toast]")
    for i in range(toasts.count()):
        close = toasts.nth(i).locator("button[data-close-button]")
        if close.count():
            close.first.click()
    toasts.first.wait_for(state="detached")


def tutor_prompt(world: StudentWorld) -> str:
    """The system message of the tutor's next answer to this student (memory injection re-reads at most once a
    second, so the question waits that long after the change)."""
    time.sleep(1.2)
    with world.client() as client:
        client.chat_completion({"model": world.ow.tutor_model,
                                "messages": [{"role": "user", "content": "What do you know about me?"}]})
    for request in reversed(list(world.ow.demo.requests)):
        body = request.body if isinstance(request.body, dict) else {}
        messages = body.get("messages") or []
        if messages and messages[0].get("role") == "system" and TUTOR_SYSTEM in str(messages[0].get("content")):
            return str(messages[0]["content"])
    raise AssertionError("the tutor's request never reached the model")


def pinned_link(student: StudentPage, world: StudentWorld) -> Any:
    """The view's link in the sidebar, checked to be listed under the "Pinned" section (the sidebar's collapsible
    sections have no ids: the nearest section header above the link names it)."""
    link = student.page.locator(f"a[href='/c/{view_id(world)}']")
    link.first.wait_for(state="visible")
    assert link.count() == 1
    section = link.first.evaluate(
        """a => { for (let el = a.parentElement; el; el = el.parentElement) {
                      const header = el.querySelector('#sidebar-folder-button');
                      if (header) return header.innerText.trim(); }
                  return null; }"""
    )
    assert section == "Pinned", section
    return link.first


def undo_choices(student: StudentPage) -> Any:
    """Undo a change, first dialog: the edited field; returns the second dialog, listing what can be undone."""
    student.click_action("Undo a change")
    box = student.dialog("Undo a change of", exact=True)
    box.locator("select").select_option(".".join(EDIT_FIELD))
    student.confirm(box)
    return student.dialog("Undo a change of \u201cYour essay journey")


def test_the_pinned_view_opens_in_one_click(student: StudentPage, world: StudentWorld) -> None:
    student.goto("/")
    link = pinned_link(student, world)
    assert view_title(world.course().agent.name) in link.inner_text()
    link.click()
    student.page.wait_for_url(f"**/c/{view_id(world)}")
    assert student.wait_for_read_only() == READ_ONLY_BANNER
    text = wait_for_view_text(student, "What your College Essay Coach tutor knows about you")
    for shown in ("About you", "Your essay journey", "How we work together", "Progress in the current module",
                  "What is holding the student back right now", "not_started", "Progression Grader",
                  "waiting for you"):
        assert shown in text, shown
    for key in ("journey.blockers", "grader_notes", "engagement_strategy", "youlab"):
        assert key not in text, key
    assert not student.composer_visible()
    # The message's header names the view's own model, not an agent; its buttons are both Actions'.
    assert "Your memory" in text.split("What your College Essay Coach tutor knows about you")[0]
    for name in (*REVIEW_BUTTONS, *MEMORY_BUTTONS):
        assert student.page.locator(f"#messages-container button[aria-label='{name}']").last.is_visible(), name
    assert student.errors == []


def test_approve_all_from_the_view(student: StudentPage, world: StudentWorld) -> None:
    pending = world.diffs(TASK)
    assert pending and {d.status.value for d in pending} == {"pending"}
    student.click_action("Approve all changes")
    student.confirm(student.dialog("Approve "))
    note = student.dialog("Add a note")
    note.locator("textarea").fill("That is right")
    student.confirm(note)
    wait_until("every change approved", lambda: {d.status.value for d in world.diffs(TASK)} == {"approved"})
    for diff in world.diffs(TASK):
        assert diff.reviewed_by == f"student:{world.user_id}" and diff.review_note == "That is right"
    text = wait_for_view_text(student, "Nothing waits for your decision.")
    # The browser's zone (UTC here) is what Open WebUI keeps for the student; the time says it.
    assert re.search(r"changed [A-Z][a-z]{2} \d{1,2}, \d{4} \d\d:\d\d UTC by Progression Grader \(approved by you\)", text)
    # A field the agent did not touch still reads as the course's starting value, not as the agent's change.
    assert re.search(r"Current module: 01-self-discovery\s+not changed yet", text), text
    [blockers] = field_diffs(world, *EDIT_FIELD)
    assert str(blockers.proposed_value).splitlines()[0] in text
    # The README's picture of the view: its top, with approved values and who changed them.
    student.page.locator("#messages-container").evaluate("el => el.scrollTo(0, 0)")
    close_notifications(student)
    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    student.page.screenshot(path=str(SCREENSHOT))
    assert student.completions == [] and student.errors == []


def test_history_of_a_field(student: StudentPage, world: StudentWorld) -> None:
    student.click_action("History of a field")
    box = student.dialog("Show the history of", exact=True)
    box.locator("select").select_option(".".join(EDIT_FIELD))
    student.confirm(box)
    text = wait_for_view_text(student, "History of \u201cYour essay journey: What is holding the student back")
    assert "Progression Grader (approved by you) approved a change" in text
    assert "your note: That is right" in text and "asked: What is blocking the student right now?" in text
    assert student.errors == []


def test_undo_the_approved_change(student: StudentPage, world: StudentWorld) -> None:
    [blockers] = field_diffs(world, *EDIT_FIELD)
    proposed = str(blockers.proposed_value)
    assert proposed in tutor_prompt(world)
    seen = commit_ids(repo(world))
    box = undo_choices(student)
    assert "Undo Progression Grader's change you approved" in box.inner_text()
    box.locator("select").select_option(f"diff:{blockers.id}")
    student.confirm(box)
    note = student.dialog("Add a note (optional)")
    note.locator("textarea").fill("Not blocked any more")
    student.confirm(note)

    undone = wait_until("the undo", lambda: next(d for d in field_diffs(world, *EDIT_FIELD)
                                                 if d.status.value == "undone"))
    assert undone.undo_note == "Not blocked any more"
    assert len(students_commits_since(repo(world), seen, world.user_id)) == 1
    assert world.memory().read_field(world.course(), *EDIT_FIELD) == ""
    assert proposed not in tutor_prompt(world)
    assert student.errors == []


def test_edit_a_field(student: StudentPage, world: StudentWorld) -> None:
    seen = commit_ids(repo(world))
    student.click_action("Edit a field")
    box = student.dialog("Edit", exact=True)
    box.locator("select").select_option(".".join(EDIT_FIELD))
    student.confirm(box)
    box = student.dialog("Edit \u201cYour essay journey: What is holding the student back")
    box.locator("textarea").fill(EDITED)
    student.confirm(box)

    wait_until("the edit", lambda: world.memory().read_field(world.course(), *EDIT_FIELD) == EDITED)
    [edit] = students_commits_since(repo(world), seen, world.user_id)
    assert "Edit journey.blockers" in str(edit.message)
    text = wait_for_view_text(student, EDITED)
    assert "by you" in text
    assert EDITED in tutor_prompt(world)
    assert student.errors == []


def test_download_my_data(student: StudentPage, world: StudentWorld) -> None:
    student.click_action("Download my data")
    link = student.page.locator("#messages-container a[href^='/api/v1/files/']").first
    link.wait_for()
    assert link.inner_text().startswith("Download youlab-data-")
    with student.page.context.expect_page() as opened, student.page.expect_download() as started:
        link.click()
    del opened  # the link opens a new tab that only downloads
    archive = zipfile.ZipFile(io.BytesIO(Path(started.value.path()).read_bytes()))
    assert f"memory/{COURSE_ID}/journey.md" in archive.namelist()
    assert EDITED in archive.read(f"memory/{COURSE_ID}/journey.md").decode()
    decisions = [json.loads(line) for line in archive.read("decisions.jsonl").decode().splitlines()]
    assert {d["status"] for d in decisions} == {"approved", "undone"}
    assert student.errors == []


def test_the_view_survives_a_reload(student: StudentPage, world: StudentWorld) -> None:
    student.page.reload()
    student.wait_for_read_only()
    text = wait_for_view_text(student, EDITED)
    assert "Your data" in text and "Progression Grader" in text
    pinned_link(student, world)
    assert student.errors == []


def test_another_student_sees_nothing_and_cannot_act(chromium: Any, openwebui: OpenWebUIHandle, world: StudentWorld,
                                                     student: StudentPage) -> None:
    _, token = openwebui.make_student("Other Student")
    other = StudentPage.open(chromium, world.ow.url, token)
    other.add_login_cookie(token)
    try:
        seen = commit_ids(repo(world))
        with other.page.expect_response(lambda r: r.url.endswith(f"/api/v1/chats/{view_id(world)}")) as answer:
            other.goto(f"/c/{view_id(world)}")
        assert answer.value.status in (401, 403, 404)
        other.page.wait_for_timeout(500)
        assert EDITED not in other.page.locator("body").inner_text()
        assert other.page.locator(f"a[href='/c/{view_id(world)}']").count() == 0
        file_url = student.page.locator("#messages-container a[href^='/api/v1/files/']").first.get_attribute("href")
        statuses = other.page.evaluate(
            """async ([chatId, fileUrl]) => {
                const auth = {Authorization: `Bearer ${localStorage.token}`, 'Content-Type': 'application/json'};
                const out = {};
                for (const [action, youlab] of [['youlab_memory.edit', {field: 'journey.blockers', value: 'hacked'}],
                                                ['youlab_memory.download', {}],
                                                ['youlab_memory.history', {field: 'journey.blockers'}],
                                                ['youlab_review.approve_all', {confirm: true}]]) {
                    const body = {model: 'youlab_agents.youlab:memory', chat_id: chatId, id: 'view',
                                  messages: [], youlab};
                    const r = await fetch(`/api/chat/actions/${action}`,
                                          {method: 'POST', headers: auth, body: JSON.stringify(body)});
                    out[action] = [r.status, await r.text()];
                }
                out.file = [(await fetch(fileUrl)).status, ''];
                return out;
            }""",
            [view_id(world), file_url],
        )
        for sub, (status, body) in statuses.items():
            assert status in (400, 401, 403, 404) or '"youlab"' not in body, (sub, status, body)
        assert statuses["file"][0] in (401, 403, 404)
        assert not students_commits_since(repo(world), seen), "no student's change reached the repository"
        assert world.memory().read_field(world.course(), *EDIT_FIELD) == EDITED
    finally:
        other.close()


def test_the_agents_section_links_each_run_to_its_thread(student: StudentPage, world: StudentWorld) -> None:
    thread = world.threads[TASK]
    student.goto(f"/c/{view_id(world)}")
    student.wait_for_read_only()
    text = wait_for_view_text(student, "Background agents")
    assert "Progression Grader" in text and "Runs, newest first:" in text
    link = student.page.locator(f"#messages-container a[href='/c/{thread.chat_id}']")
    assert link.count() == 1 and link.first.inner_text().strip()
    link.first.click()
    student.page.wait_for_url(f"**/c/{thread.chat_id}")
    assert "Progression Grader" in student.wait_for_read_only()  # the run's own thread, with its agent's banner
    assert student.errors == []


def test_a_change_whose_report_is_gone_is_decided_in_the_view(student: StudentPage, world: StudentWorld) -> None:
    cello = "Plays cello in the youth orchestra."
    diff = world.memory().propose(world.course(), agent=TASK, run_id="a-run-whose-report-was-deleted",
                                  block="student", field="profile", operation="replace", proposed_value=cello,
                                  reasoning="said so", confidence="high",
                                  source_query="What does the student do outside school?")
    student.goto(f"/c/{view_id(world)}")
    student.wait_for_read_only()
    student.click_action("History of a field")  # any button writes the view again, now listing the change
    choose = student.dialog("Show the history of", exact=True)
    choose.locator("select").select_option("student.profile")
    student.confirm(choose)
    text = wait_for_view_text(student, "its report was archived or deleted: decide it here")
    assert cello in text and diff.id not in text
    # Right after the History dialog: Open WebUI answers the next confirmation with that dialog's leftover value,
    # not `true`, and the approval used to stop there without a word.
    student.click_action("Approve all changes")
    student.confirm(student.dialog("Approve 1 change?"))
    student.confirm(student.dialog("Add a note (optional)"))
    wait_until("the change approved", lambda: world.memory().get_diff(diff.id).status.value == "approved")
    assert world.memory().read_field(world.course(), "student", "profile") == cello
    student.page.reload()
    assert "Nothing waits for your decision." in wait_for_view_text(student, "Nothing waits for your decision.")
    assert cello in tutor_prompt(world)
    assert student.errors == []


def test_restore_an_earlier_value(student: StudentPage, world: StudentWorld) -> None:
    assert world.memory().read_field(world.course(), *EDIT_FIELD) == EDITED
    seen = commit_ids(repo(world))
    box = undo_choices(student)
    options = box.locator("select option")
    labels = {options.nth(i).get_attribute("value"): options.nth(i).inner_text() for i in range(options.count())}
    restore = next(value for value in labels if str(value).startswith("version:"))  # newest change first: the edit
    assert labels[restore].startswith("Restore \u201c") and "the value before you changed it" in labels[restore]
    box.locator("select").select_option(str(restore))
    student.confirm(box)
    student.confirm(student.dialog("Add a note (optional)"))

    wait_until("the restore", lambda: world.memory().read_field(world.course(), *EDIT_FIELD) == "")
    [restored] = students_commits_since(repo(world), seen, world.user_id)
    assert "Restore journey.blockers to an earlier value" in str(restored.message)
    assert EDITED in repo(world).git.log("-p", "--", "memory-blocks")  # history kept: the edit is still there
    assert EDITED not in tutor_prompt(world)
    assert student.errors == []
