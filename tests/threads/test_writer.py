from __future__ import annotations

import asyncio

from youlab_core.threads import MemoryChats, ThreadWriter, agent_model_id
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
    second = await writer.write_run("stu-1", make_report("run-2"))
    assert second.folder_id == first.folder_id
    assert second.archived == (first.chat_id,)
    old = chats.chats[first.chat_id]
    assert old.archived and old.folder_id is None  # as Open WebUI does
    assert {t.chat_id for t in state.threads_for("stu-1", task="progression-grader")} == {first.chat_id, second.chat_id}


async def test_archiving_can_be_turned_off(chats: MemoryChats, state):
    writer = ThreadWriter(chats, state, archive_old_threads=False)
    first = await writer.write_run("stu-1", make_report("run-1"))
    second = await writer.write_run("stu-1", make_report("run-2"))
    assert second.archived == () and not chats.chats[first.chat_id].archived


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
