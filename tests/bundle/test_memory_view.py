"""The memory view and its buttons: real memory (git), a real state store, chats in memory; decisions through the
API body (the dialogs are driven in test_memory_dialogs.py and through a browser in tests/e2e)."""

from __future__ import annotations

import asyncio
import io
import json
import zipfile

import git
import pytest

from youlab_core.bundle import memory_export
from youlab_core.bundle.filter import inject_memory
from youlab_core.bundle.memory_actions import USE_VIEW, MemoryActionError, button
from youlab_core.bundle.memory_view import refresh
from youlab_core.bundle.review import review
from youlab_core.bundle.review_request import ReviewError
from youlab_core.threads.memory_view import MEMORY_TASK, memory_chat_id

from .test_review import action_body, make_thread

STUDENT = {"id": "stu-1", "role": "user"}


async def approved_thread(bundle, value: str = "Strong opening."):
    ref, changes, mem, course = await make_thread(bundle, "stu-1", [("journey", "grader_notes", value)])
    await review(bundle, "approve_all", action_body(ref, confirm=True), STUDENT)
    return ref, changes, mem, course


def view_body(course_id: str = "college-essay", user_id: str = "stu-1", **youlab) -> dict:
    return {"model": "youlab_agents.youlab:memory", "chat_id": memory_chat_id(user_id, course_id),
            "id": "x", "messages": [], **({"youlab": youlab} if youlab else {})}


def view_text(bundle, user_id: str = "stu-1") -> str:
    chat = bundle.backend.chats[memory_chat_id(user_id, "college-essay")]
    return next(iter(chat.chat["history"]["messages"].values()))["content"]


async def prompt_of(bundle, user_id: str = "stu-1") -> str:
    await asyncio.sleep(1.1)  # the filter re-checks block files at most once a second
    body = await inject_memory(bundle, {"messages": [{"role": "user", "content": "hi"}]}, user_id, "college-essay-tutor")
    return body["messages"][0]["content"]


async def test_a_decision_writes_the_registered_pinned_view_in_plain_words(bundle_env):
    _, bundle, _ = bundle_env
    bundle.backend.pinned = set()
    await approved_thread(bundle)
    chat_id = memory_chat_id("stu-1", "college-essay")
    chat = bundle.backend.chats[chat_id]
    assert chat.user_id == "stu-1" and chat.title == "Your memory \u2014 College Essay Coach"
    assert chat_id in bundle.backend.pinned and chat.meta["youlab"]["type"] == "background_agent"
    record = bundle.state.thread(chat_id)
    assert record.task == MEMORY_TASK and record.user_id == "stu-1"
    text = view_text(bundle)
    assert "### Your essay journey" in text and "**The grader's latest assessment**: Strong opening." in text
    assert "by Progression Grader (approved by you)" in text and "journey.grader_notes" not in text
    assert "#### Progression Grader" in text and "/c/" in text and "Nothing waits for your decision." in text
    info = await bundle.guard.is_agent_thread(chat_id, "stu-1")  # read-only: the guard refuses messages into it
    assert info is not None and info.agent == "Your memory" and "registry" in info.sources


async def test_pending_changes_of_a_deleted_thread_are_decided_from_the_view(bundle_env):
    _, bundle, _ = bundle_env
    await approved_thread(bundle)
    ref, changes, mem, course = await make_thread(bundle, "stu-1", [("journey", "blockers", "Time.")])
    del bundle.backend.chats[ref.chat_id]
    await refresh(bundle, "stu-1", course)
    text = view_text(bundle)
    assert "1 waiting for you" in text and "archived or deleted: decide it here" in text
    result = await review(bundle, "approve_all", view_body(confirm=True), STUDENT)
    assert mem.read_field(course, "journey", "blockers") == "Time."
    assert "Nothing waits for your decision." in result["messages"][0]["content"]


async def test_history_says_who_when_why_and_the_value_before(bundle_env):
    _, bundle, _ = bundle_env
    _, changes, mem, course = await approved_thread(bundle)
    mem.write_field(course, "journey", "grader_notes", "My own words.", author="student:stu-1")
    result = await button(bundle, "history", view_body(field="journey.grader_notes"), STUDENT)
    history = result["youlab"]["history"]
    assert [h["by"] for h in history] == ["you", "Progression Grader (approved by you)"]
    assert history[1]["before"] == "" and history[1]["after"] == "Strong opening." and history[1]["question"] == "q"
    assert history[0]["before"] == "Strong opening." and history[0]["kind"] == "edit"
    assert "History of \u201cYour essay journey: The grader's latest assessment\u201d" in result["messages"][0]["content"]


async def test_undo_an_approved_change_is_a_new_commit_and_the_prompt_follows(bundle_env):
    _, bundle, _ = bundle_env
    _, changes, mem, course = await approved_thread(bundle)
    assert "Strong opening." in await prompt_of(bundle)
    repo = git.Repo(bundle.settings.users_root / "stu-1")
    commits = len(list(repo.iter_commits()))
    result = await button(bundle, "undo", view_body(field="journey.grader_notes", diff_id=changes[0].diff_id,
                                                     confirm=True, note="not true"), STUDENT)
    assert mem.read_field(course, "journey", "grader_notes") == ""
    assert mem.get_diff(changes[0].diff_id).status.value == "undone"
    assert len(list(repo.iter_commits())) == commits + 1 and repo.head.commit.author.name == "student:stu-1"
    assert "Undone" in result["youlab"]["results"][0]
    assert "Strong opening." not in await prompt_of(bundle)


async def test_restore_any_earlier_value(bundle_env):
    _, bundle, _ = bundle_env
    _, _, mem, course = await approved_thread(bundle)
    mem.write_field(course, "journey", "grader_notes", "Second.", author="student:stu-1")
    mem.write_field(course, "journey", "grader_notes", "Third.", author="student:stu-1")
    history = (await button(bundle, "history", view_body(field="journey.grader_notes"), STUDENT))["youlab"]["history"]
    await button(bundle, "undo", view_body(field="journey.grader_notes", version=history[1]["version"] + "~",
                                           confirm=True), STUDENT)
    assert mem.read_field(course, "journey", "grader_notes") == "Strong opening."
    with pytest.raises(MemoryActionError, match="not in this field's history"):
        await button(bundle, "undo", view_body(field="journey.grader_notes", version="0" * 40, confirm=True), STUDENT)


async def test_edit_within_the_schema_marks_pending_stale_and_the_prompt_follows(bundle_env):
    _, bundle, _ = bundle_env
    await approved_thread(bundle)
    ref, changes, mem, course = await make_thread(bundle, "stu-1", [("journey", "grader_notes", "Agent's view")])
    await button(bundle, "edit", view_body(field="journey.grader_notes", value="I finished my outline."), STUDENT)
    assert mem.read_field(course, "journey", "grader_notes") == "I finished my outline."
    assert git.Repo(bundle.settings.users_root / "stu-1").head.commit.author.name == "student:stu-1"
    assert mem.get_diff(changes[0].diff_id).status.value == "stale"
    assert "I finished my outline." in await prompt_of(bundle)
    await button(bundle, "edit", view_body(field="journey.milestones", value="- topic chosen\n- outline\n"), STUDENT)
    assert mem.read_field(course, "journey", "milestones") == ["topic chosen", "outline"]


@pytest.mark.parametrize(("field", "value", "error"), [
    ("journey.status", "done", "must be one of: not_started, in_progress, completed"),
    ("journey.milestones", "\n".join(f"m{i}" for i in range(31)), "holds at most 30 items; you wrote 31"),
    ("journey.nope", "x", "This course has no field 'journey.nope'"),
    ("grader_notes", "x", 'must name a field as "block.field"'),
    ("journey.grader_notes", 5, "that value does not fit"),
])
async def test_edit_errors_say_what_was_wrong_and_change_nothing(bundle_env, field, value, error):
    _, bundle, _ = bundle_env
    _, _, mem, course = await approved_thread(bundle)
    head = git.Repo(bundle.settings.users_root / "stu-1").head.commit.hexsha
    with pytest.raises(MemoryActionError, match=error.replace("(", r"\(").replace(")", r"\)")):
        await button(bundle, "edit", view_body(field=field, value=value), STUDENT)
    assert git.Repo(bundle.settings.users_root / "stu-1").head.commit.hexsha == head


class SavedFiles:
    def __init__(self) -> None:
        self.saved: list[tuple[str, str, bytes]] = []

    async def save(self, user_id: str, name: str, data: bytes) -> str:
        self.saved.append((user_id, name, data))
        return f"file-{len(self.saved)}"


async def test_download_holds_blocks_history_decisions_and_runs(bundle_env, monkeypatch):
    _, bundle, _ = bundle_env
    files = SavedFiles()
    monkeypatch.setattr(memory_export, "FILES", files)
    _, changes, _, _ = await approved_thread(bundle)
    result = await button(bundle, "download", view_body(), STUDENT)
    assert result["youlab"]["url"] == "/api/v1/files/file-1/content" and files.saved[0][0] == "stu-1"
    assert "/api/v1/files/file-1/content" in result["messages"][0]["content"]
    archive = zipfile.ZipFile(io.BytesIO(files.saved[0][2]))
    names = set(archive.namelist())
    assert {"README.md", "history.json", "decisions.jsonl", "runs.json", "threads.json",
            "memory/college-essay/journey.md", "memory/college-essay/blocks.json"} <= names
    decisions = [json.loads(line) for line in archive.read("decisions.jsonl").decode().splitlines()]
    assert decisions[0]["id"] == changes[0].diff_id and decisions[0]["status"] == "approved"
    blocks = json.loads(archive.read("memory/college-essay/blocks.json"))
    assert blocks["journey"]["fields"]["grader_notes"]["value"] == "Strong opening."
    assert any(c["author"] == "agent:progression-grader" for c in json.loads(archive.read("history.json")))


async def test_another_student_can_neither_see_nor_act(bundle_env, monkeypatch):
    _, bundle, _ = bundle_env
    files = SavedFiles()
    monkeypatch.setattr(memory_export, "FILES", files)
    _, changes, mem, course = await approved_thread(bundle)
    other = {"id": "stu-2", "role": "user"}
    for sub, extra in [("history", {"field": "journey.grader_notes"}), ("download", {}),
                       ("edit", {"field": "journey.grader_notes", "value": "hacked"}),
                       ("undo", {"field": "journey.grader_notes", "diff_id": changes[0].diff_id, "confirm": True})]:
        with pytest.raises(MemoryActionError, match="your own memory view"):
            await button(bundle, sub, view_body(**extra), other)
    assert mem.read_field(course, "journey", "grader_notes") == "Strong opening." and not files.saved
    # A view id of their own that was never written is not a view either.
    with pytest.raises(MemoryActionError, match="your own memory view"):
        await button(bundle, "edit", view_body(user_id="stu-2", field="journey.grader_notes", value="x"), other)


async def test_memory_buttons_in_a_run_thread_or_a_copy_point_to_the_view(bundle_env):
    _, bundle, _ = bundle_env
    ref, _, mem, course = await approved_thread(bundle)
    with pytest.raises(MemoryActionError, match="Your memory"):
        await button(bundle, "edit", {**action_body(ref), "youlab": {"field": "journey.grader_notes", "value": "x"}},
                     STUDENT)
    copy = await bundle.backend.create_chat("stu-1", {"title": "copy"}, folder_id=None, meta={})
    with pytest.raises(MemoryActionError) as refused:
        await button(bundle, "history", {"chat_id": copy.id, "youlab": {"field": "journey.grader_notes"}}, STUDENT)
    assert str(refused.value) == USE_VIEW
    assert mem.read_field(course, "journey", "grader_notes") == "Strong opening."


async def test_each_action_has_its_own_buttons(bundle_env):
    """The split: youlab_memory is history / undo / edit / download, youlab_review approve / reject / review."""
    _, bundle, _ = bundle_env
    _, _, mem, course = await approved_thread(bundle)
    with pytest.raises(MemoryActionError, match=r"Unknown button 'approve_all' .*known: history, undo, edit, download"):
        await button(bundle, "approve_all", view_body(confirm=True), STUDENT)
    with pytest.raises(ReviewError, match=r"Unknown review action 'edit' \(known: approve_all, reject_all, review\)"):
        await review(bundle, "edit", view_body(field="journey.grader_notes", value="x"), STUDENT)
    assert mem.read_field(course, "journey", "grader_notes") == "Strong opening."


async def test_forged_bodies_are_refused_by_name(bundle_env):
    _, bundle, _ = bundle_env
    await approved_thread(bundle)
    with pytest.raises(MemoryActionError, match='"chat_id"'):
        await button(bundle, "history", {"youlab": {"field": "journey.grader_notes"}}, STUDENT)
    with pytest.raises(MemoryActionError, match='"youlab" must be an object'):
        await button(bundle, "history", {**view_body(), "youlab": "journey.grader_notes"}, STUDENT)
    with pytest.raises(MemoryActionError, match="confirm"):
        await button(bundle, "undo", view_body(field="journey.grader_notes", diff_id="x"), STUDENT)
    with pytest.raises(MemoryActionError, match="not one of this field's changes"):
        await button(bundle, "undo", view_body(field="journey.blockers", diff_id="20260101-nope", confirm=True), STUDENT)
    with pytest.raises(MemoryActionError, match="No browser session"):
        await button(bundle, "edit", view_body(), STUDENT)


async def test_a_run_that_proposes_refreshes_the_view(bundle_env):
    from types import SimpleNamespace

    from youlab_core.bundle.memory_view import ViewRefresher
    from youlab_core.threads.runner_writer import RunnerThreadWriter

    _, bundle, _ = bundle_env
    course = bundle.courses.course("college-essay")
    task = course.task("progression-grader")
    diff = bundle.memory.student("stu-1").propose(
        course, agent=task.name, run_id="run-9", block="journey", field="blockers", operation="replace",
        proposed_value="Deadlines.", reasoning="r", confidence="high", source_query="q")
    change = SimpleNamespace(diff_id=diff.id, target="journey.blockers", current_value="", proposed_value="Deadlines.",
                             reasoning="r", operation="replace")
    report = SimpleNamespace(run_id="run-9", queries=[SimpleNamespace(query=None, question="q", answer="a", error="",
                                                                      skipped_reason="", change=change)],
                             error="", status="succeeded", pending_diffs=[diff])
    views = ViewRefresher(bundle.memory, bundle.state, bundle.backend, bundle.courses)
    await RunnerThreadWriter(bundle.writer, views).write("stu-1", course, task, report)
    text = view_text(bundle)
    assert "Progression Grader · **1 waiting for you**" in text and "Deadlines." in text
    assert "also in [its agent's report](/c/" in text


async def test_the_dialogs_drive_edit_and_undo(bundle_env):
    _, bundle, _ = bundle_env
    _, changes, mem, course = await approved_thread(bundle)
    asked: list[dict] = []

    def answering(*answers):
        queue = list(answers)

        async def event_call(event):
            asked.append(event)
            return queue.pop(0)
        return event_call

    body = {"chat_id": memory_chat_id("stu-1", "college-essay"), "id": "x"}
    await button(bundle, "edit", body, STUDENT, event_call=answering("journey.status", "completed"))
    assert mem.read_field(course, "journey", "status") == "completed"
    assert asked[0]["data"]["type"] == "select" and {"label": "Your essay journey: Progress in the current module",
                                                      "value": "journey.status"} in asked[0]["data"]["options"]
    assert asked[1]["data"]["type"] == "select" and asked[1]["data"]["value"] == "not_started"
    asked.clear()
    await button(bundle, "undo", body, STUDENT,
                 event_call=answering("journey.grader_notes", f"diff:{changes[0].diff_id}", "wrong"))
    assert mem.read_field(course, "journey", "grader_notes") == ""
    assert mem.get_diff(changes[0].diff_id).undo_note == "wrong"
    assert asked[1]["data"]["options"][0]["label"].startswith("Undo Progression Grader's change you approved")
    # Cancelling a dialog changes nothing and shows the view as it is.
    result = await button(bundle, "edit", body, STUDENT, event_call=answering(False))
    assert result["youlab"]["results"] == [] and mem.read_field(course, "journey", "status") == "completed"
