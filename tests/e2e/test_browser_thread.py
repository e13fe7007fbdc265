"""What a student sees of an agent thread in a real browser: read-only, with the server's refusal behind it, and
normal chats untouched before and after (single-page navigation both ways)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from tests.e2e.student_world import StudentWorld, chat_json, make_student_world
from tests.support.browser import StudentPage, failed_test_name
from tests.support.openwebui_stack import OpenWebUIHandle
from youlab_core.guard import READ_ONLY_MESSAGE

TASK = "progression-grader"
WRITING_CONTROLS = "button[aria-label='Edit'], button[aria-label='Regenerate'], #continue-response-button"
REVIEW_BUTTONS = ("Approve all changes", "Reject all changes", "Review each change")
# After an attempt to send, how long to watch for a request the page should NOT send: the page posts at once
# when it sends, so a short, bounded watch is enough.
NOTHING_SENT_WATCH_MS = 700


@pytest.fixture(scope="module")
def world(openwebui: OpenWebUIHandle) -> StudentWorld:
    return make_student_world(openwebui, "Thread Reader", (TASK,))


@pytest.fixture
def student(chromium, world: StudentWorld, request: pytest.FixtureRequest) -> Iterator[StudentPage]:
    page = StudentPage.open(chromium, world.ow.url, world.token)
    yield page
    page.close(failed_test=failed_test_name(request))


def expected_banner(world: StudentWorld) -> str:
    thread = world.threads[TASK]
    day = datetime.fromisoformat(thread.created_at).astimezone(UTC)
    return (
        f"Read-only. Written by {thread.agent} on {day:%B} {day.day}, {day.year}. "
        "Review its suggestions with the buttons under its report."
    )


def visible_count(student: StudentPage, selector: str) -> int:
    return sum(1 for handle in student.page.query_selector_all(selector) if handle.is_visible())


def demo_calls_with(openwebui: OpenWebUIHandle, marker: str) -> int:
    return sum(1 for r in openwebui.demo.requests if marker in json.dumps(r.body))


def test_agent_thread_shows_the_banner_and_no_composer(student: StudentPage, world: StudentWorld) -> None:
    thread = world.threads[TASK]
    student.open_chat(thread.chat_id)
    assert student.wait_for_read_only() == expected_banner(world)
    assert not student.composer_visible()
    # Edit / regenerate / continue are rendered by Open WebUI but hidden; the review buttons stay.
    assert student.page.locator(f"#messages-container :is({WRITING_CONTROLS})").count() > 0
    assert visible_count(student, f"#messages-container :is({WRITING_CONTROLS})") == 0
    for name in REVIEW_BUTTONS:
        assert student.page.locator(f"#messages-container button[aria-label='{name}']").last.is_visible(), name
    # For the screenshot: the run listed under its agent's folder (after the folder's slide-open transition).
    student.expand_folder(thread.folder_id)
    student.page.locator(f"#sidebar-folders-content a[href='/c/{thread.chat_id}']").first.wait_for(state="visible")
    student.page.wait_for_timeout(400)
    student.screenshot("agent-thread")
    assert student.errors == []


def test_enter_and_paste_send_nothing(student: StudentPage, world: StudentWorld, openwebui: OpenWebUIHandle) -> None:
    thread = world.threads[TASK]
    before = world.chat(thread.chat_id)["chat"]["history"]["messages"]
    student.open_chat(thread.chat_id)
    student.wait_for_read_only()
    page = student.page
    page.keyboard.press("Enter")
    page.evaluate("navigator.clipboard.writeText('pasted-into-an-agent-thread')")
    page.keyboard.press("Control+V")
    page.keyboard.press("Enter")
    # Straight at the hidden composer: a paste event, then the send button and the keyboard shortcut path.
    page.evaluate(
        """() => {
            const input = document.getElementById('chat-input');
            const data = new DataTransfer();
            data.setData('text/plain', 'pasted-into-an-agent-thread');
            input.dispatchEvent(new ClipboardEvent('paste', {clipboardData: data, bubbles: true, cancelable: true}));
            input.dispatchEvent(new KeyboardEvent('keydown', {key: 'Enter', bubbles: true, cancelable: true}));
            document.getElementById('send-message-button')?.click();
        }"""
    )
    page.wait_for_timeout(NOTHING_SENT_WATCH_MS)
    assert student.completions == []
    assert "pasted" not in page.evaluate("document.getElementById('chat-input')?.innerText ?? ''")
    assert world.chat(thread.chat_id)["chat"]["history"]["messages"].keys() == before.keys()
    assert demo_calls_with(openwebui, "pasted-into-an-agent-thread") == 0
    assert student.errors == []


def test_a_composer_forced_back_is_still_refused_by_the_server(
    student: StudentPage, world: StudentWorld, openwebui: OpenWebUIHandle
) -> None:
    thread = world.threads[TASK]
    student.open_chat(thread.chat_id)
    student.wait_for_read_only()
    student.page.evaluate(
        """() => {
            const container = document.getElementById('message-input-container');
            container.style.setProperty('display', 'flex', 'important');
            container.closest('form').style.setProperty('display', 'flex', 'important');
        }"""
    )
    student.wait_for_composer()
    marker = "forced-back-through-the-dom"  # no quotes: it is searched for in serialised request bodies
    student.send(f"Let me write here anyway, {marker}")
    refusal = READ_ONLY_MESSAGE.format(name=thread.agent)
    student.wait_for_assistant_text(refusal)
    assert len(student.completions) == 1  # the page did send: the refusal is the server's
    assert demo_calls_with(openwebui, marker) == 0
    assert marker in json.dumps(student.completions[0])
    # Nothing of the attempt was stored: after a reload the report is still the thread's current message.
    stored = openwebui.run(lambda c: c.chats.get(thread.chat_id))
    history = stored["chat"]["history"]
    current = history["messages"][history["currentId"]]
    assert current["role"] == "assistant" and current["model"] == f"youlab_agents.{TASK}"
    assert marker not in json.dumps(stored)
    student.open_chat(thread.chat_id)
    student.wait_for_read_only()
    last = student.page.locator("#messages-container .chat-assistant").last
    last.wait_for(timeout=15_000)
    assert marker not in student.page.inner_text("#messages-container")
    student.screenshot("thread-after-a-refused-attempt")


def test_normal_chat_works_before_and_after_an_agent_thread(
    student: StudentPage, world: StudentWorld, openwebui: OpenWebUIHandle
) -> None:
    thread = world.threads[TASK]
    page = student.page
    student.goto("/")
    student.wait_for_composer()
    student.send("First question: how do I start my essay about the bakery?")
    page.wait_for_url(re.compile(r".*/c/[0-9a-f-]+$"))
    normal_chat_id = page.url.rsplit("/", 1)[-1]
    replies = page.locator("#messages-container .copy-response-button")
    replies.first.wait_for(state="attached")
    assert len(student.completions) == 1
    assert not page.locator("#youlab-readonly-banner").count()

    # Into the agent thread through the sidebar, without a page load.
    student.expand_folder(thread.folder_id)
    student.click_link(thread.chat_id)
    student.wait_for_read_only()
    assert not student.composer_visible()

    # And back to the normal chat: the composer and the message controls return.
    student.click_link(normal_chat_id)
    student.wait_for_normal_chat()
    page.locator("#messages-container .copy-response-button").first.wait_for(state="attached")
    assert visible_count(student, "#messages-container button[aria-label='Regenerate']") >= 1
    student.send("Second question: and how do I end it?")
    page.wait_for_function(
        "() => document.querySelectorAll('#messages-container .copy-response-button').length >= 2"
    )
    assert len(student.completions) == 2
    assert demo_calls_with(openwebui, "Second question: and how do I end it?") >= 1

    # Browser history both ways (popstate).
    page.go_back()
    page.wait_for_url(f"**/c/{thread.chat_id}")
    student.wait_for_read_only()
    page.go_forward()
    page.wait_for_url(f"**/c/{normal_chat_id}")
    student.wait_for_normal_chat()
    assert student.errors == []


def test_the_agent_folder_shows_in_the_sidebar_with_its_dated_runs(student: StudentPage, world: StudentWorld) -> None:
    thread = world.threads[TASK]
    student.goto("/")
    folder = student.page.locator(f"#folder-{thread.folder_id}-button")
    folder.wait_for()
    assert thread.agent in folder.inner_text()
    student.expand_folder(thread.folder_id)
    link = student.page.locator(f"#sidebar-folders-content a[href='/c/{thread.chat_id}']").first
    link.wait_for()
    day = datetime.fromisoformat(thread.created_at).astimezone(UTC)
    text = link.inner_text()
    assert thread.agent in text and str(day.year) in text and f"{day:%b}" in text, text
    # The student's course chat stays among the ordinary chats, outside the agent's folder.
    student.page.locator(f"#sidebar-chats-content a[href='/c/{world.course_chat_id}']").first.wait_for()
    assert student.page.locator(f"#sidebar-folders-content a[href='/c/{world.course_chat_id}']").count() == 0


def _decision_case(world: StudentWorld, case: str) -> tuple[str, str | None]:
    """A chat marked as an agent thread by only one of the markers the server-side guard reads (or by none):
    (chat id, the agent name the banner should show, or None for an ordinary chat)."""
    thread = world.threads[TASK]
    source = world.chat(thread.chat_id)
    with world.client() as client:
        if case == "moved out of its folder":  # the model and the chat meta still say so
            chat = client.chats.import_one(source["chat"], folder_id=None, meta=source["meta"])
            return chat["id"], thread.agent
        if case == "only its folder says so":  # an ordinary tutor chat, put into the agent's folder
            chat = client.chats.new(chat_json([("user", "Hello")], world.ow.tutor_model, "Moved in"), thread.folder_id)
            assert not chat.get("meta", {}).get("youlab")
            return chat["id"], thread.agent  # the folder is named after the agent; the date is the chat's own
        if case == "only its meta says so":  # tutor model, no folder, but the thread marker in chat.meta
            chat = client.chats.import_one(
                chat_json([("assistant", "A report")], world.ow.tutor_model, "Marked"), meta=source["meta"]
            )
            return chat["id"], thread.agent
        assert case == "an ordinary chat in an ordinary folder"
        folder = client.folders.create("My drafts")
        chat = client.chats.new(chat_json([("user", "Hello")], world.ow.tutor_model, "Draft talk"), folder["id"])
        return chat["id"], None


@pytest.mark.parametrize(
    "case",
    ["moved out of its folder", "only its folder says so", "only its meta says so", "an ordinary chat in an ordinary folder"],
)
def test_the_page_decides_from_any_marker_the_server_reads(student: StudentPage, world: StudentWorld, case: str) -> None:
    chat_id, agent = _decision_case(world, case)
    student.open_chat(chat_id)
    verdict = student.wait_for_decision(chat_id)
    if agent is None:
        assert verdict["thread"] is None
        student.wait_for_normal_chat()
    else:
        chat = world.chat(chat_id)
        created = chat["meta"].get("youlab", {}).get("created_at")
        day = datetime.fromisoformat(created) if created else datetime.fromtimestamp(chat["created_at"], UTC)
        assert verdict["thread"]["agent"] == agent
        assert student.wait_for_read_only() == (
            f"Read-only. Written by {agent} on {day:%B} {day.day}, {day.year}. "
            "Review its suggestions with the buttons under its report."
        )
        assert not student.composer_visible()
    assert student.errors == []


@pytest.mark.parametrize("failure", ["network error", "HTTP 500"])
def test_a_failed_lookup_leaves_the_page_as_open_webui_draws_it(
    student: StudentPage, world: StudentWorld, failure: str
) -> None:
    # Only the folder says this chat is an agent thread; the page cannot read the folder. It fails open: the
    # server still refuses (it reads the folder itself), and no ordinary chat ever loses its composer to a glitch.
    chat_id, _ = _decision_case(world, "only its folder says so")
    folder_id = world.threads[TASK].folder_id

    def fail(route) -> None:
        if failure == "network error":
            route.abort()
        else:
            route.fulfill(status=500, content_type="application/json", body='{"detail": "boom"}')

    student.page.route(f"**/api/v1/folders/{folder_id}", fail)
    student.open_chat(chat_id)
    assert student.wait_for_decision(chat_id)["thread"] is None
    student.wait_for_normal_chat()
    assert student.errors == []
