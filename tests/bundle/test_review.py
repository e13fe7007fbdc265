"""Approving and rejecting from a report: real memory (git), chats in memory, decisions through the API body."""

from __future__ import annotations

import git
import pytest

from youlab_core.bundle.review import SAVE_FAILED, ReviewError, review
from youlab_core.errors import PermissionDenied
from youlab_core.memory import DiffClosed, StudentMemory
from youlab_core.threads import Change, ThreadReport, ThreadWriter

from .conftest import load_plugin


async def make_thread(bundle, user_id: str, fields: list[tuple[str, str, str]]):
    course = bundle.courses.course("college-essay")
    mem = bundle.memory.student(user_id)
    changes = []
    for block, field, value in fields:
        diff = mem.propose(course, agent="progression-grader", run_id="run-1", block=block, field=field, operation="replace",
                           proposed_value=value, reasoning="from the chat", confidence="high", source_query="q")
        changes.append(Change(diff.id, f"{block}.{field}", str(diff.current_value), value, merge="replace"))
    report = ThreadReport("progression-grader", "Progression Grader", "college-essay", "run-1", "2026-11-24T00:00:00+00:00", changes=changes)
    ref = await ThreadWriter(bundle.backend, bundle.state).write_run(user_id, report)
    return ref, changes, mem, course


def action_body(ref, **youlab) -> dict:
    return {"model": "youlab_agents.progression-grader", "chat_id": ref.chat_id, "id": ref.message_id, "messages": [], "youlab": youlab}


async def test_approve_one_applies_with_agent_author_and_rerenders(bundle_env):
    _, bundle, _ = bundle_env
    ref, changes, mem, course = await make_thread(bundle, "stu-1", [("journey", "grader_notes", "Strong opening."), ("journey", "blockers", "Time.")])
    result = await review(bundle, "review", action_body(ref, decisions=[{"diff_id": changes[0].diff_id, "decision": "approve", "note": "yes"}]),
                          {"id": "stu-1", "role": "user"})
    assert mem.read_field(course, "journey", "grader_notes") == "Strong opening."
    head = git.Repo(bundle.settings.users_root / "stu-1").head.commit
    assert head.author.name == "agent:progression-grader"
    assert result["youlab"]["statuses"] == {changes[0].diff_id: "approved", changes[1].diff_id: "pending"}
    content = result["messages"][0]["content"]
    assert result["messages"][0]["id"] == ref.message_id and "✅ approved" in content and "pending your review" in content
    assert bundle.backend.chats[ref.chat_id].chat["history"]["messages"][ref.message_id]["content"] == content


async def test_reject_all_records_rejections(bundle_env):
    _, bundle, _ = bundle_env
    ref, changes, mem, course = await make_thread(bundle, "stu-1", [("journey", "grader_notes", "A"), ("journey", "blockers", "B")])
    result = await review(bundle, "reject_all", action_body(ref, confirm=True, note="not now"), {"id": "stu-1"})
    assert set(result["youlab"]["statuses"].values()) == {"rejected"}
    assert mem.read_field(course, "journey", "grader_notes") == ""
    assert all(mem.get_diff(c.diff_id).review_note == "not now" for c in changes)


async def test_approve_all_needs_confirmation(bundle_env):
    _, bundle, _ = bundle_env
    ref, _, _, _ = await make_thread(bundle, "stu-1", [("journey", "grader_notes", "A")])
    with pytest.raises(ReviewError, match="confirm"):
        await review(bundle, "approve_all", action_body(ref), {"id": "stu-1"})
    with pytest.raises(ReviewError, match="No browser session"):  # no body decision and no browser
        await review(bundle, "approve_all", {"chat_id": ref.chat_id, "id": ref.message_id}, {"id": "stu-1"})


async def test_browser_dialogs_drive_the_review(bundle_env):
    _, bundle, _ = bundle_env
    ref, changes, mem, course = await make_thread(bundle, "stu-1", [("journey", "grader_notes", "A"), ("journey", "blockers", "B")])
    answers = iter(["approve", "great", "reject", ""])
    asked = []

    async def event_call(event):
        asked.append(event)
        return next(answers)

    result = await review(bundle, "review", {"chat_id": ref.chat_id, "id": ref.message_id}, {"id": "stu-1"}, event_call=event_call)
    assert [e["type"] for e in asked] == ["input", "input", "input", "input"]
    assert asked[0]["data"]["type"] == "select" and "```diff" in asked[0]["data"]["message"]
    assert result["youlab"]["statuses"] == {changes[0].diff_id: "approved", changes[1].diff_id: "rejected"}


async def test_cancelled_confirmation_changes_nothing(bundle_env):
    _, bundle, _ = bundle_env
    ref, changes, mem, course = await make_thread(bundle, "stu-1", [("journey", "grader_notes", "A")])

    async def cancel(event):
        return False

    result = await review(bundle, "approve_all", {"chat_id": ref.chat_id, "id": ref.message_id}, {"id": "stu-1"}, event_call=cancel)
    assert result["youlab"]["statuses"] == {changes[0].diff_id: "pending"}


async def test_another_student_can_not_act(bundle_env):
    _, bundle, _ = bundle_env
    ref, changes, mem, course = await make_thread(bundle, "stu-1", [("journey", "grader_notes", "A")])
    with pytest.raises(ReviewError, match="only review changes an agent proposed for you"):
        await review(bundle, "approve_all", action_body(ref, confirm=True), {"id": "stu-2"})
    assert mem.get_diff(changes[0].diff_id).status.value == "pending"


async def test_stale_diff_explains_why(bundle_env):
    _, bundle, _ = bundle_env
    ref, changes, mem, course = await make_thread(bundle, "stu-1", [("journey", "grader_notes", "A")])
    mem.write_field(course, "journey", "grader_notes", "edited by hand", author="student:stu-1")
    result = await review(bundle, "approve_all", action_body(ref, confirm=True), {"id": "stu-1"})
    assert result["youlab"]["statuses"][changes[0].diff_id] == "stale"
    assert "stale: the field changed" in result["messages"][0]["content"]
    assert mem.read_field(course, "journey", "grader_notes") == "edited by hand"


async def test_decided_changes_are_not_decided_twice(bundle_env):
    _, bundle, _ = bundle_env
    ref, changes, mem, _ = await make_thread(bundle, "stu-1", [("journey", "grader_notes", "A")])
    await review(bundle, "approve_all", action_body(ref, confirm=True), {"id": "stu-1"})
    result = await review(bundle, "review", action_body(ref, decisions=[{"diff_id": changes[0].diff_id, "decision": "reject"}]), {"id": "stu-1"})
    assert result["youlab"]["results"] == [f"`{changes[0].diff_id}` was already approved; nothing done."]
    with pytest.raises(ReviewError, match="not part of this report"):
        await review(bundle, "review", action_body(ref, decisions=[{"diff_id": "someone-elses", "decision": "approve"}]), {"id": "stu-1"})


async def test_an_unexpected_failure_is_a_plain_sentence_and_its_detail_is_logged(bundle_env, monkeypatch, caplog):
    _, bundle, _ = bundle_env
    ref, _, _, _ = await make_thread(bundle, "stu-1", [("journey", "grader_notes", "A")])

    async def broken(self, *args, **kwargs):
        raise OSError("/srv/youlab/users/stu-1/.git/index.lock: File exists")

    monkeypatch.setattr(type(bundle.writer), "rerender", broken)
    with pytest.raises(ReviewError) as info:
        await review(bundle, "approve_all", action_body(ref, confirm=True), {"id": "stu-1"})
    assert str(info.value) == SAVE_FAILED and "/srv" not in str(info.value)
    assert "index.lock" in caplog.text  # the detail is in the log, for whoever runs the server


async def test_one_change_that_fails_does_not_stop_the_others(bundle_env, monkeypatch, caplog):
    _, bundle, _ = bundle_env
    ref, changes, mem, course = await make_thread(bundle, "stu-1", [("journey", "grader_notes", "A"), ("journey", "blockers", "B")])
    real_approve = StudentMemory.approve

    def approve(self, diff_id, **kwargs):
        if diff_id == changes[0].diff_id:
            raise RuntimeError("git exploded at /srv/youlab/users/stu-1")
        return real_approve(self, diff_id, **kwargs)

    monkeypatch.setattr(StudentMemory, "approve", approve)
    result = await review(bundle, "approve_all", action_body(ref, confirm=True), {"id": "stu-1"})
    assert result["youlab"]["results"] == [f"`{changes[0].diff_id}`: {SAVE_FAILED}", f"`{changes[1].diff_id}` approved."]
    assert result["youlab"]["statuses"] == {changes[0].diff_id: "pending", changes[1].diff_id: "approved"}
    assert "git exploded" in caplog.text


async def test_a_change_decided_meanwhile_is_explained_in_its_own_words(bundle_env, monkeypatch):
    _, bundle, _ = bundle_env
    ref, changes, mem, _ = await make_thread(bundle, "stu-1", [("journey", "grader_notes", "A")])

    def decided_elsewhere(self, diff_id, **kwargs):
        raise DiffClosed("was already rejected by student:stu-1")

    monkeypatch.setattr(StudentMemory, "approve", decided_elsewhere)
    result = await review(bundle, "approve_all", action_body(ref, confirm=True), {"id": "stu-1"})
    assert result["youlab"]["results"] == [f"`{changes[0].diff_id}` was not approved: was already rejected by student:stu-1"]


class _FakeBundle:
    async def start(self):
        return None


@pytest.mark.parametrize(("raised", "shown"), [
    (ReviewError("This chat holds no agent report to review."), "This chat holds no agent report to review."),
    (PermissionDenied("change x does not belong to you"), "change x does not belong to you"),
    (RuntimeError("/srv/youlab/state.db is locked"), SAVE_FAILED),
])
async def test_the_plugin_shows_user_facing_text_and_hides_the_rest(monkeypatch, caplog, raised, shown):
    plugin = load_plugin("youlab_review")

    async def settings():
        return None

    async def fail(*args, **kwargs):
        raise raised

    monkeypatch.setattr(plugin, "stored_filter_settings", settings)
    monkeypatch.setattr(plugin, "bundle_for", lambda *args, **kwargs: _FakeBundle())
    monkeypatch.setattr(plugin.bundle_review, "review", fail)
    with pytest.raises(Exception) as info:
        await plugin.Action().action({"chat_id": "c"}, __user__={"id": "stu-1"}, __id__="approve_all")
    assert type(info.value) is Exception and str(info.value) == shown
    assert ("state.db is locked" in caplog.text) == (shown == SAVE_FAILED)
