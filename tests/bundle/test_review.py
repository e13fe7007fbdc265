"""Approving and rejecting from a report: real memory (git), chats in memory, decisions through the API body."""

from __future__ import annotations

import git
import pytest

from youlab_core.bundle.review import SAVE_FAILED, ReviewError, review
from youlab_core.memory import DiffClosed, StudentMemory
from youlab_core.threads import Change, Finding, ThreadReport, ThreadWriter



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


async def test_a_review_keeps_what_the_run_learned_beyond_its_changes(bundle_env):
    """The re-rendered report is the whole report: questions that led to no change, problems and the values held
    back come from the thread registry (stored when the thread was written), not from the chat JSON."""
    _, bundle, _ = bundle_env
    course = bundle.courses.course("college-essay")
    diff = bundle.memory.student("stu-1").propose(
        course, agent="progression-grader", run_id="run-1", block="journey", field="blockers", operation="replace",
        proposed_value="Time.", reasoning="from the chat", confidence="high", source_query="What is blocking the student?")
    report = ThreadReport(
        "progression-grader", "Progression Grader", "college-essay", "run-1", "2026-11-24T00:00:00+00:00",
        findings=[Finding("What is blocking the student?", "journey.blockers", "Time."),
                  Finding("Which schools is the student applying to?", "student.schools", "Nothing new since last time.")],
        changes=[Change(diff.id, "journey.blockers", "", "Time.", merge="replace")],
        problems=["`student.schools`: nothing new to propose"],
        held_back=["`student.schools`: Stanford (you rejected it on 20 Nov 2026)"])
    ref = await ThreadWriter(bundle.backend, bundle.state).write_run("stu-1", report)
    await forge(bundle, ref.chat_id, findings=[], problems=[], held_back=[])  # the view's copy says nothing
    result = await review(bundle, "review", action_body(ref, decisions=[{"diff_id": diff.id, "decision": "approve"}]),
                          {"id": "stu-1"})
    content = result["messages"][0]["content"]
    assert "✅ approved" in content
    for said in ("Which schools is the student applying to?", "Nothing new since last time.",
                 "nothing new to propose", "Stanford (you rejected it on 20 Nov 2026)"):
        assert said in content, said


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


async def test_a_confirmation_answered_with_a_leftover_input_value_is_a_confirmation(bundle_env):
    """Open WebUI 0.12.4 answers Confirm with the value an earlier input dialog in the tab left behind (here the
    History dialog's field), not `true`: the student confirmed, so the changes are approved with their note."""
    _, bundle, _ = bundle_env
    ref, changes, mem, course = await make_thread(bundle, "stu-1", [("journey", "grader_notes", "A")])
    answers = iter(["journey.blockers", "checked"])

    async def event_call(event):
        return next(answers)

    result = await review(bundle, "approve_all", {"chat_id": ref.chat_id, "id": ref.message_id}, {"id": "stu-1"},
                          event_call=event_call)
    assert result["youlab"]["statuses"] == {changes[0].diff_id: "approved"}
    assert mem.get_diff(changes[0].diff_id).review_note == "checked"


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

    monkeypatch.setattr(type(bundle.backend), "update_chat_json", broken)
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


# --- the review trusts only the server -------------------------------------------------------------------------


async def forge(bundle, chat_id: str, **report_changes) -> None:
    """Edit the report data of a thread's chat JSON, as a student with database or API access could."""
    chat = bundle.backend.chats[chat_id]
    await bundle.backend.update_chat_json(chat_id, {"youlab_report": {**chat.chat["youlab_report"], **report_changes}})


async def test_forged_diff_ids_in_the_view_are_never_decided_and_the_view_is_restored(bundle_env):
    _, bundle, _ = bundle_env
    ref, changes, mem, course = await make_thread(bundle, "stu-1", [("journey", "grader_notes", "A")])
    # Another agent's pending change of the same student: the student may decide it, but not from this report.
    other = mem.propose(course, agent="milestone-tracker", run_id="run-2", block="journey", field="blockers",
                        operation="replace", proposed_value="forged", reasoning="x", confidence="high", source_query="q")
    await forge(bundle, ref.chat_id, changes=[
        {"diff_id": other.id, "target": "journey.blockers", "before": "", "after": "forged"},
        {"diff_id": changes[0].diff_id, "target": "journey.grader_notes", "before": "", "after": "FORGED TEXT", "status": "approved"},
    ], findings=[{"question": "Forged question?", "target": "x.y", "answer": "forged"}])
    with pytest.raises(ReviewError, match="not part of this report; nothing was decided"):
        await review(bundle, "review", action_body(ref, decisions=[{"diff_id": other.id, "decision": "approve"}]), {"id": "stu-1"})
    assert mem.get_diff(other.id).status.value == "pending"
    # approve_all acts on the server's list: the forged "approved" status does not hide the real pending change.
    result = await review(bundle, "approve_all", action_body(ref, confirm=True), {"id": "stu-1"})
    assert result["youlab"]["statuses"] == {changes[0].diff_id: "approved"}
    assert mem.get_diff(other.id).status.value == "pending"
    chat = bundle.backend.chats[ref.chat_id].chat
    content = chat["history"]["messages"][ref.message_id]["content"]
    assert "FORGED" not in content and "Forged question?" not in content and "+A" in content
    assert [c["diff_id"] for c in chat["youlab_report"]["changes"]] == [changes[0].diff_id]
    assert "forged" not in str(chat["youlab_report"])


async def test_a_tampered_view_is_restored_on_the_next_render_even_with_nothing_to_decide(bundle_env):
    _, bundle, _ = bundle_env
    ref, changes, _, _ = await make_thread(bundle, "stu-1", [("journey", "grader_notes", "A")])
    await forge(bundle, ref.chat_id, changes=[], run_id="run-other", agent="Someone Else")
    result = await review(bundle, "review", action_body(ref, decisions=[]), {"id": "stu-1"})
    report = bundle.backend.chats[ref.chat_id].chat["youlab_report"]
    assert report["run_id"] == "run-1" and report["agent"] == "Progression Grader"
    assert [c["diff_id"] for c in report["changes"]] == [changes[0].diff_id]
    assert "pending your review" in result["messages"][0]["content"]


async def test_a_diff_of_another_student_is_not_found_in_this_students_report(bundle_env):
    _, bundle, _ = bundle_env
    ref, _, _, _ = await make_thread(bundle, "stu-1", [("journey", "grader_notes", "A")])
    _, theirs, their_mem, _ = await make_thread(bundle, "stu-2", [("journey", "grader_notes", "B")])
    await forge(bundle, ref.chat_id, changes=[{"diff_id": theirs[0].diff_id, "target": "journey.grader_notes", "before": "", "after": "B"}])
    with pytest.raises(ReviewError, match="not part of this report"):
        await review(bundle, "review", action_body(ref, decisions=[{"diff_id": theirs[0].diff_id, "decision": "reject"}]), {"id": "stu-1"})
    assert their_mem.get_diff(theirs[0].diff_id).status.value == "pending"


async def test_a_change_shown_again_from_an_earlier_run_can_be_decided_here(bundle_env):
    _, bundle, _ = bundle_env
    _, earlier, mem, course = await make_thread(bundle, "stu-1", [("journey", "grader_notes", "A")])
    # A second run found the same change still pending and showed it again instead of proposing it twice.
    report = ThreadReport("progression-grader", "Progression Grader", "college-essay", "run-2", "2026-11-25T00:00:00+00:00",
                          changes=[earlier[0]])
    ref = await ThreadWriter(bundle.backend, bundle.state).write_run("stu-1", report)
    result = await review(bundle, "approve_all", action_body(ref, confirm=True), {"id": "stu-1"})
    assert result["youlab"]["statuses"] == {earlier[0].diff_id: "approved"}


async def test_a_chat_not_in_the_registry_gets_no_review(bundle_env):
    _, bundle, _ = bundle_env
    ref, changes, mem, _ = await make_thread(bundle, "stu-1", [("journey", "grader_notes", "A")])
    original = bundle.backend.chats[ref.chat_id]
    # A clone or an import: the same chat JSON under a new id, never registered.
    copy = await bundle.backend.create_chat("stu-1", original.chat, folder_id=None, meta={})
    with pytest.raises(ReviewError) as info:
        await review(bundle, "approve_all", {**action_body(ref, confirm=True), "chat_id": copy.id}, {"id": "stu-1"})
    assert str(info.value) == "This is a copy of an agent report; decide its changes in the agent's own thread."
    plain = await bundle.backend.create_chat("stu-1", {"models": ["college-essay-tutor"]}, folder_id=None, meta={})
    with pytest.raises(ReviewError, match="holds no agent report"):
        await review(bundle, "approve_all", {"chat_id": plain.id, "youlab": {"confirm": True}}, {"id": "stu-1"})
    assert mem.get_diff(changes[0].diff_id).status.value == "pending"


async def test_an_admins_manual_run_chat_holds_no_report(bundle_env):
    """The agent model answered there (its summary), so the review buttons show; they say plainly there is nothing."""
    _, bundle, _ = bundle_env
    summary = {"id": "s1", "role": "assistant", "content": "## Progression Grader: manual run",
               "model": "youlab_agents.progression-grader", "done": True}
    chat = await bundle.backend.create_chat(
        "admin", {"models": ["youlab_agents.progression-grader"], "history": {"currentId": "s1", "messages": {"s1": summary}}},
        folder_id=None, meta={})
    assert chat.agent_messages()
    with pytest.raises(ReviewError) as info:
        await review(bundle, "approve_all", {"chat_id": chat.id, "id": "s1", "youlab": {"confirm": True}}, {"id": "admin"})
    assert str(info.value) == "This chat holds no agent report to review."


async def test_someone_elses_thread_and_a_missing_chat_get_the_same_refusal(bundle_env):
    _, bundle, _ = bundle_env
    ref, _, _, _ = await make_thread(bundle, "stu-1", [("journey", "grader_notes", "A")])
    answers = []
    for chat_id, user in ((ref.chat_id, "stu-2"), ("no-such-chat", "stu-2"), (ref.chat_id, "")):
        with pytest.raises(ReviewError) as info:
            await review(bundle, "approve_all", {"chat_id": chat_id, "youlab": {"confirm": True}}, {"id": user})
        answers.append(str(info.value))
    assert set(answers) == {"You can only review changes an agent proposed for you, in your own agent threads."}


async def test_a_thread_registered_for_another_student_is_refused_as_a_copy(bundle_env):
    _, bundle, _ = bundle_env
    ref, changes, mem, _ = await make_thread(bundle, "stu-1", [("journey", "grader_notes", "A")])
    original = bundle.backend.chats[ref.chat_id]
    # stu-2 imports stu-1's exported thread under stu-1's chat id (a registry row that is not theirs).
    bundle.backend.chats[ref.chat_id] = type(original)(original.id, "stu-2", original.title, original.chat)
    with pytest.raises(ReviewError, match="copy of an agent report"):
        await review(bundle, "approve_all", action_body(ref, confirm=True), {"id": "stu-2"})
    assert mem.get_diff(changes[0].diff_id).status.value == "pending"


MALFORMED = [
    ("approve_all", ["not", "a", "dict"], "must be a JSON object"),
    ("approve_all", {}, '"chat_id"'),
    ("approve_all", {"chat_id": 42}, '"chat_id"'),
    ("approve_all", {"chat_id": ""}, '"chat_id"'),
    ("approve_all", {"chat_id": "CHAT", "id": 7}, '"id" must be'),
    ("approve_all", {"chat_id": "CHAT", "youlab": "yes"}, '"youlab" must be an object'),
    ("approve_all", {"chat_id": "CHAT", "youlab": {"confirm": "true"}}, '"youlab.confirm" must be true or false'),
    ("reject_all", {"chat_id": "CHAT", "youlab": {"confirm": True, "note": ["why"]}}, '"youlab.note" must be text'),
    ("review", {"chat_id": "CHAT", "youlab": {}}, '"youlab.decisions" must be a list'),
    ("review", {"chat_id": "CHAT", "youlab": {"decisions": {"diff_id": "x"}}}, '"youlab.decisions" must be a list'),
    ("review", {"chat_id": "CHAT", "youlab": {"decisions": ["x"]}}, r'"youlab.decisions\[0\]" must be an object'),
    ("review", {"chat_id": "CHAT", "youlab": {"decisions": [{"decision": "approve"}]}}, r'"youlab.decisions\[0\].diff_id"'),
    ("review", {"chat_id": "CHAT", "youlab": {"decisions": [{"diff_id": 5, "decision": "approve"}]}}, r"decisions\[0\].diff_id"),
    ("review", {"chat_id": "CHAT", "youlab": {"decisions": [{"diff_id": "x", "decision": "approved"}]}}, r'decisions\[0\].decision" must be "approve" or "reject"'),
    ("review", {"chat_id": "CHAT", "youlab": {"decisions": [{"diff_id": "x", "decision": None}]}}, r"decisions\[0\].decision"),
    ("review", {"chat_id": "CHAT", "youlab": {"decisions": [{"diff_id": "x", "decision": "reject", "note": {"a": 1}}]}}, r'decisions\[0\].note" must be text'),
    ("review", {"chat_id": "CHAT", "youlab": {"decisions": [{"diff_id": "x", "decision": "reject"}, {"diff_id": "x", "decision": "approve"}]}}, "twice"),
    ("revert", {"chat_id": "CHAT"}, r"Unknown review action 'revert' \(known: approve_all, reject_all, review\)"),
]


@pytest.mark.parametrize(("sub", "body", "message"), MALFORMED)
async def test_malformed_requests_get_a_sentence_naming_the_field(bundle_env, sub, body, message):
    _, bundle, _ = bundle_env
    ref, changes, mem, _ = await make_thread(bundle, "stu-1", [("journey", "grader_notes", "A")])
    if isinstance(body, dict) and body.get("chat_id") == "CHAT":
        body = {**body, "chat_id": ref.chat_id}
    with pytest.raises(ReviewError, match=message) as info:
        await review(bundle, sub, body, {"id": "stu-1"})
    assert "Traceback" not in str(info.value) and "Error" not in str(info.value)
    assert mem.get_diff(changes[0].diff_id).status.value == "pending"


async def test_a_note_longer_than_the_limit_is_refused_saying_the_limit(bundle_env):
    _, bundle, _ = bundle_env
    ref, changes, mem, _ = await make_thread(bundle, "stu-1", [("journey", "grader_notes", "A")])
    limit = bundle.settings.review_note_max_chars
    assert limit == 2000
    with pytest.raises(ReviewError) as info:
        await review(bundle, "reject_all", action_body(ref, confirm=True, note="x" * (limit + 1)), {"id": "stu-1"})
    assert str(info.value) == "The note (youlab.note) has 2,001 characters; a note can have at most 2,000. Nothing was decided."
    long_dialog_note = iter(["reject", "y" * (limit + 1)])

    async def event_call(event):
        return next(long_dialog_note)

    with pytest.raises(ReviewError, match="at most 2,000"):
        await review(bundle, "review", {"chat_id": ref.chat_id}, {"id": "stu-1"}, event_call=event_call)
    assert mem.get_diff(changes[0].diff_id).status.value == "pending"
    await review(bundle, "reject_all", action_body(ref, confirm=True, note="x" * limit), {"id": "stu-1"})
    assert mem.get_diff(changes[0].diff_id).review_note == "x" * limit


async def test_results_use_proper_past_tenses(bundle_env):
    _, bundle, _ = bundle_env
    ref, changes, _, _ = await make_thread(bundle, "stu-1", [("journey", "grader_notes", "A"), ("journey", "blockers", "B")])
    result = await review(bundle, "review", action_body(ref, decisions=[
        {"diff_id": changes[0].diff_id, "decision": "reject"}, {"diff_id": changes[1].diff_id, "decision": "approve"}]), {"id": "stu-1"})
    assert result["youlab"]["results"] == [f"`{changes[0].diff_id}` rejected.", f"`{changes[1].diff_id}` approved."]


async def test_a_failed_run_shows_plain_words_and_keeps_the_detail_in_the_run_record(bundle_env):
    _, bundle, _ = bundle_env
    ref, _, _, _ = await make_thread(bundle, "stu-1", [("journey", "grader_notes", "A")])
    error = "journey.blockers: HonchoError: 503 Service Unavailable from http://honcho:8000"
    bundle.state.create_runs([{"id": "run-1", "task": "progression-grader", "course_id": "college-essay",
                               "user_id": "stu-1", "trigger": "manual", "claimed_at": 1.0e9,
                               "status": "running", "attempts": 1}])
    bundle.state.set_run_status(["run-1"], "failed", error=error)
    result = await review(bundle, "review", action_body(ref, decisions=[]), {"id": "stu-1"})
    content = result["messages"][0]["content"]
    assert "The agent could not reach its memory service; it will try again on its next run." in content
    assert "Honcho" not in content and "503" not in content
    assert bundle.state.get_run("run-1").error == error
