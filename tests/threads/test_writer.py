from __future__ import annotations

import asyncio
from dataclasses import replace

from youlab_core.threads import Change, MemoryChats, ThreadReport, ThreadWriter, agent_model_id
from youlab_core.threads.model import AGENT_TYPE

from .conftest import make_report


async def test_first_run_creates_folder_chat_and_registry_entry(writer: ThreadWriter, chats: MemoryChats, state):
    ref = await writer.write_run("stu-1", make_report())
    folder = chats.folders[ref.folder_id]
    assert folder.name == "Progression Grader"
    assert folder.meta == {"type": AGENT_TYPE, "agentId": "progression-grader", "course": "college-essay"}
    chat = chats.chats[ref.chat_id]
    assert chat.user_id == "stu-1" and chat.folder_id == folder.id
    assert chat.title == ref.title == "Progression Grader - Nov 24, 2026"
    assert chat.chat["models"] == [agent_model_id("progression-grader")]
    meta = chat.meta["youlab"]
    assert meta["type"] == AGENT_TYPE and meta["task"] == "progression-grader" and meta["run_id"] == "run-1"
    assert meta["agent"] == "Progression Grader" and meta["course"] == "college-essay" and meta["created_at"].startswith("2026-11-24")
    history = chat.chat["history"]
    message = history["messages"][history["currentId"]]
    assert message["role"] == "assistant" and message["model"] == "youlab_agents.progression-grader" and message["done"]
    assert message["parentId"] is None and message["childrenIds"] == []
    assert "Change id: `diff-run-1-0`" in message["content"]
    assert chat.chat["messages"][0]["id"] == message["id"]
    record = state.thread(ref.chat_id)
    assert (record.user_id, record.task, record.course_id, record.run_id) == ("stu-1", "progression-grader", "college-essay", "run-1")


async def test_second_run_reuses_folder_and_archives_older_run(writer: ThreadWriter, chats: MemoryChats, state):
    first = await writer.write_run("stu-1", make_report("run-1"))
    # Nothing of the first run is pending any more (the memory store says so): it is archived.
    second = await writer.write_run("stu-1", make_report("run-2"), pending=make_report("run-2").changes)
    assert second.folder_id == first.folder_id
    assert second.archived == (first.chat_id,)
    old = chats.chats[first.chat_id]
    assert old.archived and old.folder_id is None  # as Open WebUI does
    assert {t.chat_id for t in state.threads_for("stu-1", task="progression-grader")} == {first.chat_id, second.chat_id}


async def test_a_run_reads_only_the_threads_still_open(writer: ThreadWriter, chats: MemoryChats, state):
    # A thread archived with nothing left to decide is closed in the registry; later runs do not read it again,
    # so a run costs the same after a semester of runs as after two.
    first = await writer.write_run("stu-1", make_report("run-0"))
    for i in range(1, 8):
        await writer.write_run("stu-1", make_report(f"run-{i}"), pending=make_report(f"run-{i}").changes)
    assert state.thread(first.chat_id).closed_at is not None
    assert [t.run_id for t in state.threads_for("stu-1", task="progression-grader", open_only=True)] == ["run-7"]
    read: list[str] = []
    get_chat = chats.get_chat

    async def counted(chat_id: str):
        read.append(chat_id)
        return await get_chat(chat_id)

    chats.get_chat = counted  # type: ignore[method-assign]
    ref = await writer.write_run("stu-1", make_report("run-8"), pending=make_report("run-8").changes)
    last = state.threads_for("stu-1", task="progression-grader")[1]
    assert ref.archived == (last.chat_id,)
    assert sorted(read) == sorted([ref.chat_id, last.chat_id])  # its own id (a retry?) and the one open thread


async def test_a_thread_the_student_unarchives_is_left_where_they_put_it(writer: ThreadWriter, chats: MemoryChats):
    first = await writer.write_run("stu-1", make_report("run-1"))
    second = await writer.write_run("stu-1", make_report("run-2"), pending=make_report("run-2").changes)
    assert second.archived == (first.chat_id,)
    chats.unarchive(first.chat_id)  # the student takes it back out of the archive
    third = await writer.write_run("stu-1", make_report("run-3"), pending=make_report("run-3").changes)
    assert first.chat_id not in third.archived and not chats.chats[first.chat_id].archived


async def test_archiving_can_be_turned_off(chats: MemoryChats, state):
    writer = ThreadWriter(chats, state, archive_old_threads=False)
    first = await writer.write_run("stu-1", make_report("run-1"))
    second = await writer.write_run("stu-1", make_report("run-2"), pending=[])
    assert second.archived == () and not chats.chats[first.chat_id].archived
    assert state.thread(first.chat_id).closed_at is not None  # nothing left to decide: not read again all the same


async def test_a_thread_the_student_archived_is_closed_once_nothing_in_it_is_pending(
    writer: ThreadWriter, chats: MemoryChats, state,
):
    first_report = make_report("run-1")
    first = await writer.write_run("stu-1", first_report, pending=first_report.changes)
    await chats.archive_chat(first.chat_id)  # by the student, while its changes wait
    second = await writer.write_run("stu-1", make_report("run-2", changes=0), pending=first_report.changes)
    assert state.thread(first.chat_id).closed_at is None  # still lists what the student has to decide
    third = await writer.write_run("stu-1", make_report("run-3", changes=0), pending=[])
    assert third.archived == (second.chat_id,)  # the student's archived thread is not archived again...
    assert state.thread(first.chat_id).closed_at is not None  # ...but closed: nothing in it to decide any more


async def test_racing_runs_create_one_folder(writer: ThreadWriter, chats: MemoryChats):
    refs = await asyncio.gather(*(writer.write_run("stu-1", make_report(f"run-{i}")) for i in range(8)))
    assert len({r.folder_id for r in refs}) == 1
    assert len([f for f in chats.folders.values() if f.user_id == "stu-1"]) == 1


async def test_students_own_folder_with_the_agent_name_is_left_alone(writer: ThreadWriter, chats: MemoryChats):
    own = await chats.create_folder("stu-1", "Progression Grader", {})
    ref = await writer.write_run("stu-1", make_report())
    assert ref.folder_id != own.id and chats.folders[ref.folder_id].name == "Progression Grader (agent)"
    assert chats.folders[own.id].meta == {}


async def test_folders_are_per_student(writer: ThreadWriter):
    a = await writer.write_run("stu-1", make_report())
    b = await writer.write_run("stu-2", make_report())
    assert a.folder_id != b.folder_id


async def test_rerender_updates_the_report_message_in_place(writer: ThreadWriter, chats: MemoryChats):
    ref = await writer.write_run("stu-1", make_report())
    message_id, content = await writer.rerender(ref.chat_id, {"diff-run-1-0": ("approved", "good"), "diff-run-1-1": ("rejected", "")})
    assert message_id == ref.message_id
    chat = chats.chats[ref.chat_id]
    stored = chat.chat["history"]["messages"][message_id]
    assert stored["content"] == content and "✅ approved" in content and "❌ rejected" in content
    assert stored["model"] == "youlab_agents.progression-grader"  # attribution kept
    assert chat.chat["history"]["currentId"] == message_id
    assert chat.chat["messages"][0]["content"] == content
    _, report, _ = await writer.load_report(ref.chat_id)
    assert [c.status for c in report.changes] == ["approved", "rejected"]


async def test_a_retried_write_of_one_run_leaves_one_thread(writer: ThreadWriter, chats: MemoryChats, state):
    # The runner retries a failed thread write; one that failed after creating the chat must not duplicate it.
    first = await writer.write_run("stu-1", make_report("run-7"))
    again = await writer.write_run("stu-1", make_report("run-7"))
    assert again.chat_id == first.chat_id
    assert [c.id for c in chats.chats.values() if c.user_id == "stu-1"] == [first.chat_id]
    assert not chats.chats[first.chat_id].archived
    assert [t.chat_id for t in state.threads_for("stu-1")] == [first.chat_id]
    other_student = await writer.write_run("stu-2", make_report("run-7"))
    assert other_student.chat_id != first.chat_id


# --- nothing goes missing (issue 11) ---

def pending_of(*reports: ThreadReport) -> list[Change]:
    """What the memory store would say is pending: every change of these reports."""
    return [c for r in reports for c in r.changes]


async def test_a_retried_run_rewrites_its_thread_with_the_final_report(writer: ThreadWriter, chats: MemoryChats, state):
    failed = replace(make_report("run-7", changes=0), problems=["`journey.grader_notes`: the dialectic timed out"])
    first = await writer.write_run("stu-1", failed, pending=[], failed=True)
    final = make_report("run-7")
    again = await writer.write_run("stu-1", final, pending=pending_of(final))
    assert again.chat_id == first.chat_id and again.rewritten and not first.rewritten
    assert again.message_id == first.message_id and again.title == first.title
    chat = chats.chats[first.chat_id]
    history = chat.chat["history"]
    assert list(history["messages"]) == [first.message_id] and history["currentId"] == first.message_id
    content = history["messages"][first.message_id]["content"]
    assert "Change id: `diff-run-7-0`" in content and "the dialectic timed out" not in content
    assert chat.chat["messages"][0]["content"] == content
    _, report, message_id = await writer.load_report(first.chat_id)  # the buttons decide against the final report
    assert message_id == first.message_id and [c.diff_id for c in report.changes] == ["diff-run-7-0", "diff-run-7-1"]
    assert [t.chat_id for t in state.threads_for("stu-1")] == [first.chat_id]


async def test_a_retry_keeps_the_failed_attempts_pending_changes(writer: ThreadWriter, chats: MemoryChats):
    attempt = make_report("run-7", changes=1)  # proposed diff-run-7-0, then failed
    await writer.write_run("stu-1", attempt, pending=pending_of(attempt), failed=True)
    final = replace(make_report("run-7", changes=0), changes=[Change("diff-new", "journey.grader_notes", "a", "b")])
    ref = await writer.write_run("stu-1", final, pending=pending_of(attempt, final))
    _, report, _ = await writer.load_report(ref.chat_id)
    assert [c.diff_id for c in report.changes] == ["diff-new", "diff-run-7-0"] and ref.carried == ("diff-run-7-0",)


async def test_an_older_thread_is_archived_only_when_nothing_is_left_to_decide(writer: ThreadWriter, chats: MemoryChats):
    first_report = make_report("run-1")
    first = await writer.write_run("stu-1", first_report, pending=pending_of(first_report))
    second_report = make_report("run-2")
    second = await writer.write_run("stu-1", second_report, pending=pending_of(first_report, second_report))
    assert second.archived == () and not chats.chats[first.chat_id].archived  # run-1 still waits for the student
    # The student decides run-1's changes (the stored report may still say pending: the memory store is the truth).
    third_report = make_report("run-3")
    third = await writer.write_run("stu-1", third_report, pending=pending_of(second_report, third_report))
    assert third.archived == (first.chat_id,) and chats.chats[first.chat_id].archived
    assert not chats.chats[second.chat_id].archived and third.carried == ()


async def test_without_the_memory_store_the_reports_decide_what_is_archived(writer: ThreadWriter, chats: MemoryChats):
    first = await writer.write_run("stu-1", make_report("run-1"))  # shows two pending changes
    second = await writer.write_run("stu-1", make_report("run-2"))
    assert second.archived == () and second.carried == ()
    await writer.rerender(first.chat_id, {"diff-run-1-0": ("approved", ""), "diff-run-1-1": ("rejected", "")})
    third = await writer.write_run("stu-1", make_report("run-3"))
    assert third.archived == (first.chat_id,)


async def test_a_failed_run_archives_nothing(writer: ThreadWriter, chats: MemoryChats):
    first = await writer.write_run("stu-1", make_report("run-1", changes=0), pending=[])
    second = await writer.write_run("stu-1", make_report("run-2", changes=0), pending=[], failed=True)
    assert second.archived == () and not chats.chats[first.chat_id].archived
    third = await writer.write_run("stu-1", make_report("run-3", changes=0), pending=[])
    assert set(third.archived) == {first.chat_id, second.chat_id}


async def test_pending_changes_of_a_deleted_thread_appear_in_the_next_thread(writer: ThreadWriter, chats: MemoryChats):
    first_report, kept_report = make_report("run-1"), make_report("run-2", changes=1)
    first = await writer.write_run("stu-1", first_report, pending=pending_of(first_report))
    kept = await writer.write_run("stu-1", kept_report, pending=pending_of(first_report, kept_report))
    chats.delete_chat(first.chat_id)
    await chats.archive_chat(kept.chat_id)  # an archived thread still exists: its change is not listed twice
    next_report = make_report("run-3", changes=0)
    ref = await writer.write_run("stu-1", next_report, pending=pending_of(first_report, kept_report))
    assert ref.carried == ("diff-run-1-0", "diff-run-1-1")
    _, report, message_id = await writer.load_report(ref.chat_id)
    assert [(c.diff_id, c.status) for c in report.changes] == [("diff-run-1-0", "pending"), ("diff-run-1-1", "pending")]
    content = chats.chats[ref.chat_id].chat["history"]["messages"][message_id]["content"]
    assert "Change id: `diff-run-1-0`" in content and "2 changes waiting for you" in content
    # Listed once: the run after that finds them in this thread and carries nothing.
    after = await writer.write_run("stu-1", make_report("run-4", changes=0), pending=pending_of(first_report, kept_report))
    assert after.carried == ()


async def test_pending_changes_of_a_deleted_folder_appear_in_the_next_thread_in_a_new_folder(
    writer: ThreadWriter, chats: MemoryChats, state,
):
    first_report = make_report("run-1")
    first = await writer.write_run("stu-1", first_report, pending=pending_of(first_report))
    chats.delete_folder(first.folder_id)  # Open WebUI deletes the folder's chats with it
    ref = await writer.write_run("stu-1", make_report("run-2", changes=0), pending=pending_of(first_report))
    assert ref.folder_id != first.folder_id and chats.folders[ref.folder_id].name == "Progression Grader"
    assert ref.carried == ("diff-run-1-0", "diff-run-1-1")
    assert [f.folder_id for f in state.agent_folders("stu-1", "progression-grader")] == [ref.folder_id]
