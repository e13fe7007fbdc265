"""The agent folders: only folders the bundle created and recorded are written into (youlab_core.threads.folders)."""

from __future__ import annotations

import pytest

from youlab_core.threads import MemoryChats, ThreadWriter, folder_meta
from youlab_core.threads.folders import free_name

from .conftest import make_report

TASK, COURSE = "progression-grader", "college-essay"


def forged_meta() -> dict[str, str]:
    return folder_meta(TASK, COURSE)  # exactly what the bundle writes: anyone can set it through the API


@pytest.mark.parametrize("with_registry", [True, False])
async def test_a_students_folder_with_forged_meta_is_never_adopted(chats: MemoryChats, state, with_registry: bool):
    writer = ThreadWriter(chats, state if with_registry else None)
    forged = await chats.create_folder("stu-1", "Progression Grader", forged_meta())
    ref = await writer.write_run("stu-1", make_report())
    assert ref.folder_id != forged.id and chats.folders[ref.folder_id].name == "Progression Grader (agent)"
    assert [c.folder_id for c in chats.chats.values()] == [ref.folder_id]
    again = await writer.write_run("stu-1", make_report("run-2"))
    assert again.folder_id == ref.folder_id  # the folder it made, not the forged one


async def test_the_created_folder_is_recorded(writer: ThreadWriter, state):
    ref = await writer.write_run("stu-1", make_report())
    [record] = state.agent_folders("stu-1", TASK)
    assert (record.folder_id, record.user_id, record.course_id) == (ref.folder_id, "stu-1", COURSE)


async def test_a_renamed_or_moved_folder_is_still_the_agents(writer: ThreadWriter, chats: MemoryChats):
    first = await writer.write_run("stu-1", make_report())
    chats.update_folder(first.folder_id, name="My grader")
    parent = await chats.create_folder("stu-1", "School", {})
    old = chats.folders[first.folder_id]
    chats.folders[first.folder_id] = type(old)(old.id, old.user_id, old.name, old.meta, parent.id)
    again = await writer.write_run("stu-1", make_report("run-2"))
    assert again.folder_id == first.folder_id


@pytest.mark.parametrize("change", [{"type": "mine"}, {"agentId": "other-task"}, {"course": "history"}])
async def test_an_altered_folder_is_forgotten_and_made_again(writer: ThreadWriter, chats: MemoryChats, state, change):
    first = await writer.write_run("stu-1", make_report())
    chats.update_folder(first.folder_id, meta=change)
    again = await writer.write_run("stu-1", make_report("run-2"))
    assert again.folder_id != first.folder_id
    assert chats.folders[again.folder_id].meta == forged_meta()
    assert chats.folders[again.folder_id].name == "Progression Grader (agent)"  # the altered one keeps the name
    assert [f.folder_id for f in state.agent_folders("stu-1", TASK)] == [again.folder_id]
    assert chats.chats[again.chat_id].folder_id == again.folder_id


async def test_a_deleted_folder_is_made_again(writer: ThreadWriter, chats: MemoryChats, state):
    first = await writer.write_run("stu-1", make_report())
    chats.delete_folder(first.folder_id)
    again = await writer.write_run("stu-1", make_report("run-2"))
    assert again.folder_id != first.folder_id and chats.folders[again.folder_id].name == "Progression Grader"
    assert [f.folder_id for f in state.agent_folders("stu-1", TASK)] == [again.folder_id]


async def test_a_recorded_folder_of_another_student_is_not_used(writer: ThreadWriter, chats: MemoryChats, state):
    other = await chats.create_folder("stu-2", "Progression Grader", forged_meta())
    state.record_folder(other.id, "stu-1", TASK, COURSE)  # a wrong row cannot put stu-1's thread there
    ref = await writer.write_run("stu-1", make_report())
    assert ref.folder_id != other.id and chats.folders[ref.folder_id].user_id == "stu-1"
    assert [f.folder_id for f in state.agent_folders("stu-1", TASK)] == [ref.folder_id]


def test_free_names():
    assert free_name("Grader", set()) == "Grader"
    assert free_name("Grader", {"grader"}) == "Grader (agent)"
    assert free_name("Grader", {"grader", "grader (agent)"}) == "Grader (3)"
