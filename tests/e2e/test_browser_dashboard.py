"""The course dashboard in a real browser (docs/dashboard.md, issue 13): an admin finds "Course dashboard - College
Essay Coach" pinned in the sidebar without doing anything first, opens it in one click, sees a failed run's reason,
retries it and pauses a task through Open WebUI's dialogs; a teacher of the course sees the students' progress without
their memory contents and resumes the task; with the course's `teachers_read_memory` on, the teacher reads a student's
memory, the read is committed into the student's repository and listed in the student's memory view; a teacher of another course and a student are refused
by the server whatever they send.

The tests share one Open WebUI (the session's) and run in file order, each starting from what the step before left.
The screenshot for docs/dashboard.md (docs/images/dashboard.png) is the admin's dashboard with the failed run.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import git
import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from tests.e2e.student_world import chat_json
from tests.support.browser import StudentPage, failed_test_name
from tests.support.courses import course_toml, task, write_course
from tests.support.openwebui_stack import OpenWebUIHandle
from youlab_core.openwebui import SyncOpenWebUIClient
from youlab_core.settings import Settings
from youlab_core.state import SqlStateStore, open_store
from youlab_core.threads.dashboard_view import dashboard_chat_id, view_title
from youlab_core.threads.memory_view import memory_chat_id

COURSE = "college-essay"
TASK = "progression-grader"
SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "images" / "dashboard.png"
FAILED_RUN = "e2e-failed-run"
WAIT_S = 90.0  # the refresher writes every dashboard each minute; an action asks it to write them at once


@dataclass
class People:
    admin_id: str
    student: dict[str, Any]
    student_token: str
    teacher: dict[str, Any]
    teacher_token: str
    other: dict[str, Any]
    other_token: str


def wait_until(what: str, check: Any, timeout: float = WAIT_S) -> Any:
    deadline = time.monotonic() + timeout
    while not (value := check()):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.3)
    return value


def state(openwebui: OpenWebUIHandle) -> SqlStateStore:
    return open_store(Settings(), url=f"sqlite:///{openwebui.storage_root / 'state.db'}")


def set_teachers(openwebui: OpenWebUIHandle, read_memory: bool) -> None:
    path = openwebui.config_dir / "courses" / COURSE / "course.toml"
    text = path.read_text()
    head, _, rest = text.partition('models = ["college-essay-tutor"]')
    rest = "\n".join(line for line in rest.split("\n") if not line.startswith(("teachers =", "teachers_read_memory =")))
    path.write_text(f'{head}models = ["college-essay-tutor"]\nteachers = ["Essay teachers"]\n'
                    f"teachers_read_memory = {str(read_memory).lower()}{rest}")
    time.sleep(Settings().config_check_seconds + 1.5)  # Open WebUI's bundle notices the changed file


@pytest.fixture(scope="module")
def people(openwebui: OpenWebUIHandle) -> People:
    """A student with activity and a failed run, a teacher in "Essay teachers", and a teacher of another course
    ("Math", teachers "Math teachers")."""
    write_course(openwebui.config_dir, course_toml("math", name="Math", teachers=["Math teachers"],
                                                   tasks=[task("math-check")]), folder="math")
    set_teachers(openwebui, read_memory=False)
    student, student_token = openwebui.make_student("Dana Student")
    teacher, teacher_token = openwebui.make_student("Tess Teacher")
    other, other_token = openwebui.make_student("Omar Math")
    for name, member in (("Essay teachers", teacher), ("Math teachers", other)):
        group = openwebui.api.groups.create(name)
        openwebui.api.groups.add_users(group["id"], [member["id"]])
    admin = openwebui.api.users.find_by_email(openwebui.admin_email)
    assert admin is not None
    store = state(openwebui)
    try:
        now = time.time()
        store.record_message(student["id"], COURSE, datetime.now(UTC))
        store.create_runs([{"id": FAILED_RUN, "task": TASK, "course_id": COURSE, "user_id": student["id"],
                            "trigger": "schedule", "claimed_at": now - 120, "started_at": now - 120,
                            "finished_at": now - 100, "status": "failed", "attempts": 3,
                            "error": "LLMError: upstream 503 Service Unavailable"}])
    finally:
        store.close()
    return People(str(admin["id"]), student, student_token, teacher, teacher_token, other, other_token)


@pytest.fixture(scope="module")
def admin(chromium: Any, openwebui: OpenWebUIHandle, people: People) -> Iterator[StudentPage]:
    page = StudentPage.open(chromium, openwebui.url, openwebui.admin_token)
    yield page
    page.close()


@pytest.fixture(scope="module")
def teacher(chromium: Any, openwebui: OpenWebUIHandle, people: People) -> Iterator[StudentPage]:
    page = StudentPage.open(chromium, openwebui.url, people.teacher_token)
    yield page
    page.close()


@pytest.fixture(autouse=True)
def screenshot_on_failure(admin: StudentPage, request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    if name := failed_test_name(request):
        admin.screenshot(f"failed-{name}")


def text_of(page: StudentPage) -> str:
    return str(page.page.locator("#messages-container").inner_text())


def wait_for_text(page: StudentPage, text: str) -> str:
    page.page.locator("#messages-container").get_by_text(text, exact=False).first.wait_for()
    return text_of(page)


DASHBOARD_BANNER = ("Read-only: the course's runs, health and students, kept current by YouLab. Act with the buttons "
                    "under it.")  # the page patch's banner for chat.meta.youlab.kind == "course_dashboard"


def open_dashboard(page: StudentPage, user_id: str) -> None:
    """From the start page: the pinned link, one click."""
    chat_id = dashboard_chat_id(user_id, COURSE)
    page.goto("/")
    link = page.page.locator(f"a[href='/c/{chat_id}']")
    link.first.wait_for(state="visible", timeout=WAIT_S * 1000)
    assert view_title("College Essay Coach") in link.first.inner_text()
    whats_new = page.page.get_by_role("button", name="Okay, Let's Go!")
    try:  # the admin's release notes (kept in their server-side settings, not the page's) open after the sidebar
        whats_new.wait_for(timeout=3000)
    except PlaywrightTimeout:  # no release notes for this user
        pass
    else:
        whats_new.click()
        whats_new.wait_for(state="detached")
    link.first.click()
    page.page.wait_for_url(f"**/c/{chat_id}")
    assert page.wait_for_read_only() == DASHBOARD_BANNER


def choose(page: StudentPage, title: str, value: str) -> None:
    box = page.dialog(title, exact=True)
    box.locator("select").select_option(value)
    page.confirm(box)


def write_in(page: StudentPage, title: str, text: str) -> None:
    box = page.dialog(title)
    box.locator("textarea").fill(text)
    page.confirm(box)


def action(page: StudentPage, sub: str, chat_id: str, youlab: dict[str, Any]) -> tuple[int, str]:
    """POST the dashboard's Action from this browser's session, as a hand-made request would."""
    result = page.page.evaluate(
        """async ([sub, chatId, youlab]) => {
            const r = await fetch(`/api/chat/actions/youlab_dashboard.${sub}`, {method: 'POST',
                headers: {Authorization: `Bearer ${localStorage.token}`, 'Content-Type': 'application/json'},
                body: JSON.stringify({model: 'youlab_agents.youlab:dashboard', chat_id: chatId, id: 'x',
                                      messages: [], session_id: null, youlab})});
            return [r.status, await r.text()];
        }""", [sub, chat_id, youlab])
    return int(result[0]), str(result[1])


def test_an_admin_finds_the_dashboard_pinned_and_sees_the_failed_runs_reason(admin: StudentPage,
                                                                            people: People) -> None:
    open_dashboard(admin, people.admin_id)
    admin.click_action("Refresh")
    choose(admin, "Show the runs of", "*")
    choose(admin, "Show runs that are", "*")
    text = wait_for_text(admin, "could not be reached (LLMError: upstream 503")
    assert "you see it as an administrator" in text and "failing" in text and "Dana Student" in text
    assert TASK not in text  # task titles, never keys
    for name in ("Refresh", "Students of a course", "Run by hand", "Retry a failed run", "Pause a task",
                 "Resume a task"):
        assert admin.page.locator(f"#messages-container button[aria-label='{name}']").last.is_visible(), name
    assert not admin.composer_visible()
    admin.page.locator("#messages-container").evaluate("el => el.scrollTo(0, 0)")
    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    admin.page.screenshot(path=str(SCREENSHOT))
    assert admin.errors == []


def test_the_admin_retries_the_failed_run(admin: StudentPage, openwebui: OpenWebUIHandle, people: People) -> None:
    admin.click_action("Retry a failed run")
    choose(admin, "Retry a failed run", FAILED_RUN)
    admin.confirm(admin.dialog("Retry this run"))
    store = state(openwebui)
    try:
        wait_until("the retry's record", lambda: [a for a in store.task_actions(TASK) if a.action == "retry"])
        [retry] = [a for a in store.task_actions(TASK) if a.action == "retry"]
        assert retry.actor.startswith("E2E Admin") and "Dana Student" in retry.note
        wait_until("a new run for the student", lambda: [r for r in store.list_runs(task=TASK, user_id=people.student["id"])
                                                         if r.trigger == "manual"])
    finally:
        store.close()
    wait_for_text(admin, "retried a failed run of Progression Grader")
    assert admin.errors == []


def test_the_admin_pauses_a_task(admin: StudentPage, openwebui: OpenWebUIHandle) -> None:
    admin.click_action("Pause a task")
    choose(admin, "Pause a task", TASK)
    write_in(admin, "Add a note (optional)", "exam week")
    admin.confirm(admin.dialog("Pause Progression Grader"))
    store = state(openwebui)
    try:
        pause = wait_until("the pause", lambda: store.paused_tasks().get(TASK))
        assert pause.paused_by.startswith("E2E Admin") and pause.note == "exam week"
    finally:
        store.close()
    text = wait_for_text(admin, "paused by E2E Admin")
    assert "it counts but starts no run" in text and admin.errors == []


def test_a_teacher_sees_progress_without_memory_contents_and_resumes(teacher: StudentPage, people: People,
                                                                    openwebui: OpenWebUIHandle) -> None:
    open_dashboard(teacher, people.teacher["id"])
    text = wait_for_text(teacher, "you see it as a teacher of this course")
    assert "Dana Student" in text and "Memory contents are not shown to you" in text
    assert not teacher.page.locator("#messages-container").get_by_text("### Memory of").count()
    status, answer = action(teacher, "memory", dashboard_chat_id(people.teacher["id"], COURSE),
                            {"student": people.student["email"], "confirm": True})
    assert status == 400 and "teachers_read_memory" in answer
    teacher.click_action("Resume a task")
    choose(teacher, "Resume a task", TASK)
    write_in(teacher, "Add a note (optional)", "exams are over")
    teacher.confirm(teacher.dialog("Resume Progression Grader"))
    store = state(openwebui)
    try:
        wait_until("the resume", lambda: not store.is_paused(TASK))
        assert store.task_actions(TASK)[0].actor.startswith("Tess Teacher")
    finally:
        store.close()
    wait_for_text(teacher, "resumed Progression Grader")
    assert teacher.errors == []


def test_a_teacher_of_another_course_and_a_student_are_refused(chromium: Any, openwebui: OpenWebUIHandle,
                                                              people: People) -> None:
    admin_dashboard = dashboard_chat_id(people.admin_id, COURSE)
    for token, user in ((people.other_token, people.other), (people.student_token, people.student)):
        with SyncOpenWebUIClient(openwebui.url, token=token, timeout=120.0) as client:  # a chat of their own
            own = client.chats.new(chat_json([("user", "Hello")], openwebui.tutor_model, "Mine"))["id"]
        page = StudentPage.open(chromium, openwebui.url, token)
        try:
            page.goto("/")
            page.page.locator(f"a[href='/c/{own}']").first.wait_for(state="visible")  # the sidebar is listed
            if user is people.other:  # a teacher of Math: Math's dashboard, never College Essay Coach's
                page.page.locator(f"a[href='/c/{dashboard_chat_id(user['id'], 'math')}']").first.wait_for(
                    state="visible", timeout=WAIT_S * 1000)
            assert page.page.locator(f"a[href='/c/{dashboard_chat_id(user['id'], COURSE)}']").count() == 0
            assert page.page.locator(f"a[href='/c/{admin_dashboard}']").count() == 0
            status, _ = action(page, "pause", admin_dashboard, {"task": TASK, "confirm": True})
            assert status in (400, 401, 403, 404)
            status, answer = action(page, "pause", own, {"task": TASK, "confirm": True, "role": "admin"})
            assert status == 400 and "administrators and this course's teachers" in answer, answer
            if user is people.other:  # on their own dashboard: only Math's tasks
                status, answer = action(page, "pause", dashboard_chat_id(user["id"], "math"),
                                        {"task": TASK, "note": "", "confirm": True})
                assert status == 400 and "Math has no task 'progression-grader'" in answer, answer
        except Exception:
            page.screenshot(f"failed-refused-{user['name'].split()[0].lower()}")
            raise
        finally:
            page.close()
    store = state(openwebui)
    try:
        assert not store.is_paused(TASK)
        assert [a.action for a in store.task_actions(TASK)][:1] == ["resume"]  # nothing after the teacher's resume
    finally:
        store.close()


def test_with_teachers_read_memory_on_a_read_is_recorded_in_the_students_history(teacher: StudentPage, people: People,
                                                                                 openwebui: OpenWebUIHandle) -> None:
    set_teachers(openwebui, read_memory=True)
    teacher.click_action("Memory of a student")
    write_in(teacher, "Read the memory of a student", people.student["email"])
    teacher.confirm(teacher.dialog("Read the memory of this student"))
    text = wait_for_text(teacher, "Memory of Dana Student")
    assert "Your essay journey" in text and "Your reading is recorded in the student's history" in text
    repo = git.Repo(openwebui.storage_root / "users" / people.student["id"])
    head = repo.head.commit
    assert head.author.name == f"teacher:{people.teacher['id']}" and "Tess Teacher" in str(head.message)
    assert "access_log.jsonl" in head.stats.files
    with SyncOpenWebUIClient(openwebui.url, token=people.student_token, timeout=120.0) as client:
        view = client.chats.get(memory_chat_id(people.student["id"], COURSE))  # the student's own memory view
    assert view is not None
    content = " ".join(m["content"] for m in view["chat"]["history"]["messages"].values())
    assert "Who looked at your memory" in content and "Tess Teacher" in content
    assert teacher.errors == []
