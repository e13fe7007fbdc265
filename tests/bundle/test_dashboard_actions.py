"""The course dashboard's buttons (youlab_core.bundle.dashboard_actions) through the API body and through dialogs:
who may press which button on which chat (refused with one plain sentence whatever the body says), the privacy
setting both ways for teachers and for admins, the record of each action with who did it, a retried failure, and
the record of a memory read in the student's own repository."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import git
import pytest

from youlab_core.bundle import dashboard_actions
from youlab_core.bundle.dashboard_access import NOT_A_VIEWER, DashboardRefused, Viewer, access_records, who_looked
from youlab_core.bundle.dashboard_actions import DASHBOARD_BUTTONS, DashboardActionError, button
from youlab_core.bundle.dashboard_view import refresh_all
from youlab_core.threads.dashboard_view import dashboard_chat_id
from youlab_core.threads.memory_view import memory_chat_id

from .dashboard_world import ADMIN, COURSE, OTHER_TEACHER, STUDENT, TEACHER, Env, add_runs, dashboard_env, patch_openwebui


@pytest.fixture(params=[False, True], ids=["private", "teachers-read"])
async def env(request: pytest.FixtureRequest, tmp_path: Path, config_dir: Path,
              monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Env]:
    async with dashboard_env(tmp_path, config_dir, read_memory=request.param) as world:
        patch_openwebui(monkeypatch, world)
        add_runs(world)
        await refresh_all(world.sources())
        yield world


class FakeRunner:
    """Stands for the runner: manual_run is replaced in these tests (the run itself is tests/runner's)."""

    async def aclose(self) -> None:
        return None


def body(viewer: str, **youlab: Any) -> dict[str, Any]:
    return {"model": "youlab_agents.youlab:dashboard", "chat_id": dashboard_chat_id(viewer, COURSE), "id": "x",
            "messages": [], **({"youlab": youlab} if youlab else {})}


def memory_value(env: Env) -> None:
    course = env.bundle.courses.course(COURSE)
    env.bundle.memory.student("stu-1").write_field(course, "journey", "blockers", "Fear of the blank page",
                                                   author="student:stu-1")


@pytest.mark.parametrize("sub", DASHBOARD_BUTTONS)
async def test_students_and_teachers_of_other_courses_are_refused_whatever_the_body_says(env: Env, sub: str) -> None:
    forged = {"task": "progression-grader", "confirm": True, "student": "stu-1", "run_id": "r-bad",
              "students": "all", "role": "admin", "reads_values": True}
    for user, chat_of in ((STUDENT, "tea"), (STUDENT, "stu-1"), (OTHER_TEACHER, "oth"), (OTHER_TEACHER, "tea"),
                          ({"id": "", "role": "admin"}, "adm")):
        with pytest.raises(DashboardRefused) as refused:
            await button(env.bundle, sub, body(chat_of, **forged), user)
        assert str(refused.value) == NOT_A_VIEWER
    assert not env.state.is_paused("progression-grader") and env.state.task_actions() == []
    assert dashboard_chat_id("stu-1", COURSE) not in env.chats


async def test_a_teacher_removed_from_the_group_is_refused_on_their_old_dashboard(env: Env) -> None:
    env.groups["Essay teachers"].discard("tea")
    with pytest.raises(DashboardRefused):
        await button(env.bundle, "pause", body("tea", task="progression-grader", note="", confirm=True), TEACHER)
    assert not env.state.is_paused("progression-grader")


async def test_a_run_thread_or_another_viewers_dashboard_is_not_a_dashboard(env: Env) -> None:
    with pytest.raises(DashboardRefused):  # the admin's own chat, registered, but it is the teacher's id
        await button(env.bundle, "refresh", body("tea", task="*", status="*"), ADMIN)


async def test_pause_and_resume_are_recorded_with_who_and_shown(env: Env) -> None:
    result = await button(env.bundle, "pause", body("tea", task="progression-grader", note="exam week", confirm=True),
                          TEACHER)
    assert result["youlab"]["result"] == "Progression Grader paused by Tom Teacher (tom@example.org)."
    pause = env.state.paused_tasks()["progression-grader"]
    assert (pause.paused_by, pause.note) == ("Tom Teacher (tom@example.org)", "exam week")
    assert "paused** by Tom Teacher (tom@example.org)" in env.text("tea")
    with pytest.raises(DashboardActionError, match="Nothing done"):
        await button(env.bundle, "resume", body("adm", task="progression-grader", note=""), ADMIN)  # no confirm
    await button(env.bundle, "resume", body("adm", task="progression-grader", note="", confirm=True), ADMIN)
    assert not env.state.is_paused("progression-grader")
    assert [(a.action, a.actor) for a in env.state.task_actions()] == [
        ("resume", "Ada Admin (ada@example.org)"), ("pause", "Tom Teacher (tom@example.org)")]
    assert "resumed Progression Grader" in env.text("adm")


async def test_pause_through_the_dialogs_and_a_closed_dialog_does_nothing(env: Env) -> None:
    asked: list[dict[str, Any]] = []
    answers = iter(["progression-grader", "provider outage", True])

    async def dialogs(event: dict[str, Any]) -> Any:
        asked.append(event)
        return next(answers)

    await button(env.bundle, "pause", body("tea"), TEACHER, event_call=dialogs)
    assert [e["data"]["title"] for e in asked] == ["Pause a task", "Add a note (optional)",
                                                   "Pause Progression Grader"]
    assert asked[0]["data"]["options"][0]["label"] == "Progression Grader" and asked[2]["type"] == "confirmation"
    assert env.state.paused_tasks()["progression-grader"].note == "provider outage"

    async def closed(event: dict[str, Any]) -> Any:
        return False

    await button(env.bundle, "resume", body("tea"), TEACHER, event_call=closed)
    assert env.state.is_paused("progression-grader")


async def test_refresh_filters_and_students_pages(env: Env) -> None:
    result = await button(env.bundle, "refresh", body("tea", task="progression-grader", status="failed"), TEACHER)
    runs = result["messages"][0]["content"].split("### Runs")[1].split("### Health")[0]
    assert "Sue Student" in runs and "Sam Student" not in runs and "Milestone Tracker" not in runs
    with pytest.raises(DashboardActionError, match="not a run status"):
        await button(env.bundle, "refresh", body("tea", task="*", status="broken"), TEACHER)
    result = await button(env.bundle, "students", body("tea", search="sue"), TEACHER)
    shown = result["messages"][0]["content"].split("### Students matching")[1].split("### Runs")[0]
    assert "Sue Student (sue@example.org)" in shown and "Sam Student" not in shown


async def test_retry_a_failed_run_is_recorded_and_runs_it_for_its_student(env: Env,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    ran: list[tuple[str, list[str]]] = []

    async def manual_run(scheduler: Any, runner: Any, task: str, targets: list[str], **_: Any) -> Any:
        ran.append((task, targets))
        return SimpleNamespace(succeeded=1, failed=0, skipped=0, diffs_proposed=2)

    monkeypatch.setattr("youlab_core.manual.manual_run", manual_run)
    assert env.bundle.parts is not None
    env.bundle.parts.runner = FakeRunner()  # type: ignore[assignment]  # the run itself is tests/runner's
    with pytest.raises(DashboardActionError, match="not a failed run"):
        await button(env.bundle, "retry", body("tea", run_id="r-ok", confirm=True), TEACHER)
    result = await button(env.bundle, "retry", body("tea", run_id="r-bad", confirm=True), TEACHER)
    assert ran == [("progression-grader", ["stu-2"])]
    assert result["youlab"]["result"].startswith("Progression Grader: 1 succeeded, 0 failed")
    [action] = env.state.task_actions()
    assert (action.action, action.actor, action.note) == ("retry", "Tom Teacher (tom@example.org)",
                                                           "run r-bad for Sue Student (sue@example.org)")
    assert "retried a failed run of Progression Grader" in env.text("tea")


async def test_run_by_hand_only_for_students_of_the_task(env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    async def manual_run(*_: Any, **__: Any) -> Any:
        return SimpleNamespace(succeeded=1, failed=0, skipped=0, diffs_proposed=0)

    async def students(task: Any) -> list[str]:
        return ["stu-1", "stu-2"]

    monkeypatch.setattr("youlab_core.manual.manual_run", manual_run)
    monkeypatch.setattr("youlab_core.bundle.agents.all_students", students)
    assert env.bundle.parts is not None
    env.bundle.parts.runner = FakeRunner()  # type: ignore[assignment]
    with pytest.raises(DashboardActionError, match="not students of this task"):
        await button(env.bundle, "run", body("tea", task="progression-grader", students="olga@example.org",
                                             confirm=True), TEACHER)
    await button(env.bundle, "run", body("tea", task="progression-grader", students="sam@example.org, stu-2",
                                         confirm=True), TEACHER)
    assert [(a.action, a.note) for a in env.state.task_actions()] == [("run", "for 2 student(s)")]


async def test_no_runner_says_why_and_records_nothing(env: Env) -> None:
    with pytest.raises(DashboardActionError, match="cannot run now"):
        await button(env.bundle, "retry", body("adm", run_id="r-bad", confirm=True), ADMIN)
    assert env.state.task_actions() == []


async def test_memory_contents_follow_the_course_setting_and_every_read_is_in_the_students_history(env: Env) -> None:
    memory_value(env)
    repo = git.Repo(env.bundle.settings.users_root / "stu-1")
    commits = len(list(repo.iter_commits()))
    reads = env.bundle.courses.course(COURSE).agent.teachers_read_memory
    assert ("Memory of a student" in env.text("tea")) == reads
    if not reads:
        with pytest.raises(DashboardRefused, match="teachers_read_memory"):
            await button(env.bundle, "memory", body("tea", student="stu-1", confirm=True), TEACHER)
        assert len(list(repo.iter_commits())) == commits and access_records(env.bundle.memory.student("stu-1")) == []
        return
    result = await button(env.bundle, "memory", body("tea", student="sam@example.org", confirm=True), TEACHER)
    assert "Fear of the blank page" in result["messages"][0]["content"]
    assert len(list(repo.iter_commits())) == commits + 1
    head = repo.head.commit
    assert head.author.name == "teacher:tea" and "Tom Teacher (tom@example.org) (teacher) read this memory" in head.message
    [record] = access_records(env.bundle.memory.student("stu-1"))
    assert (record["by"], record["role"], record["course"]) == ("Tom Teacher (tom@example.org)", "teacher", COURSE)
    assert "Tom Teacher (tom@example.org) (a teacher)" in who_looked(env.bundle.memory.student("stu-1"), COURSE)
    assert who_looked(env.bundle.memory.student("stu-1"), "another-course") == ""
    view = next(iter(env.chats[memory_chat_id("stu-1", COURSE)].chat["history"]["messages"].values()))["content"]
    assert "### Who looked at your memory" in view and "- Tom Teacher (tom@example.org) (a teacher), " in view


@pytest.mark.parametrize("admin_chat_access", ["True", "False"])
async def test_admins_follow_openwebuis_admin_chat_access(env: Env, monkeypatch: pytest.MonkeyPatch,
                                                          admin_chat_access: str) -> None:
    monkeypatch.setenv("ENABLE_ADMIN_CHAT_ACCESS", admin_chat_access)
    memory_value(env)
    if admin_chat_access == "False":
        with pytest.raises(DashboardRefused, match="ENABLE_ADMIN_CHAT_ACCESS"):
            await button(env.bundle, "memory", body("adm", student="stu-1", confirm=True), ADMIN)
        assert access_records(env.bundle.memory.student("stu-1")) == []
        return
    result = await button(env.bundle, "memory", body("adm", student="stu-1", confirm=True), ADMIN)
    assert "Fear of the blank page" in result["messages"][0]["content"]
    assert [r["role"] for r in access_records(env.bundle.memory.student("stu-1"))] == ["admin"]


async def test_a_forged_youlab_field_is_refused_in_plain_words(env: Env) -> None:
    bad = {**body("tea"), "youlab": ["confirm"]}
    with pytest.raises(DashboardActionError, match='"youlab" must be an object'):
        await button(env.bundle, "pause", bad, TEACHER)
    with pytest.raises(DashboardActionError, match="has no task 'nope'"):
        await button(env.bundle, "pause", body("tea", task="nope", confirm=True), TEACHER)
    with pytest.raises(DashboardActionError, match="Unknown button"):
        await button(env.bundle, "delete_everything", body("tea"), TEACHER)
    assert Viewer.of(TEACHER).label == "Tom Teacher (tom@example.org)" and dashboard_actions.FAILED
