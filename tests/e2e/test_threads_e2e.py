"""Agent threads as an authentic record, against the session's real Open WebUI 0.12.4 (issue 11): nothing goes
missing, and the bundle writes only into folders it made.

Students are made through the product's own paths (tests/e2e/student_world.py): a course chat stored through the
REST API, then the admin runs an agent by hand by messaging its hidden model, which runs the real runner in Open
WebUI and writes the thread in-process.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.student_world import (
    COURSE_ID,
    StudentWorld,
    chat_json,
    make_student_world,
    run_agent_by_hand,
)
from tests.support.browser import StudentPage, failed_test_name
from tests.support.openwebui_stack import OpenWebUIHandle
from tests.support.waiting import eventually_sync
from youlab_core.state import open_store
from youlab_core.threads import folder_meta

TASK = "milestone-tracker"
AGENT = "Milestone Tracker"

pytestmark = pytest.mark.e2e


def agent_folders(world: StudentWorld) -> list[dict[str, Any]]:
    """The student's folders whose meta says they are this agent's (full meta, as the sidebar reads it)."""
    with world.client() as client:
        found = [client.folders.get(f["id"]) or {} for f in client.folders.list()]
    return [f for f in found if (f.get("meta") or {}).get("agentId") == TASK]


def threads_in(world: StudentWorld, folder_id: str) -> list[dict[str, Any]]:
    with world.client() as client:
        return sorted(client.chats.list_by_folder(folder_id), key=lambda c: c["created_at"])


def report_of(world: StudentWorld, chat_id: str) -> tuple[str, list[str]]:
    """The report message's text and the change ids of the report data."""
    chat = world.chat(chat_id)
    history = chat["chat"]["history"]
    content = history["messages"][history["currentId"]]["content"]
    return content, [c["diff_id"] for c in chat["chat"]["youlab_report"]["changes"]]


def pending_ids(world: StudentWorld) -> set[str]:
    return {d.id for d in world.diffs(TASK) if d.status.value == "pending"}


def recorded_folders(ow: OpenWebUIHandle, user_id: str) -> list[str]:
    store = open_store(url=f"sqlite:///{ow.storage_root / 'state.db'}")
    try:
        return [f.folder_id for f in store.agent_folders(user_id, TASK)]
    finally:
        store.close()


def add_course_chat(world: StudentWorld, lines: list[str]) -> None:
    """Another course chat, so the agent's next answers (and its proposed changes) differ from the last run's."""
    turns: list[tuple[str, str]] = []
    for text in lines:
        turns += [("user", text), ("assistant", "Noted.")]
    with world.client() as client:
        client.chats.new(chat_json(turns, world.ow.tutor_model, "More about my essay"))


def test_a_retried_run_rewrites_its_thread_with_the_final_report(openwebui: OpenWebUIHandle) -> None:
    world = make_student_world(openwebui, "Retry Student", ())
    openwebui.demo.down()  # every LLM call of the first attempt fails: the run fails and is retried later
    try:
        summary = run_agent_by_hand(openwebui, TASK, world.user_id)
    finally:
        openwebui.demo.up()
    assert "0 succeeded, 1 failed" in summary and "why:" in summary
    [folder] = agent_folders(world)
    [thread] = threads_in(world, folder["id"])
    failed_text, failed_changes = report_of(world, thread["id"])
    assert failed_changes == [] and "No changes proposed" in failed_text
    run_id = thread["meta"]["youlab"]["run_id"]

    # The scheduler retries the same run (same run id, so the same chat) after its backoff.
    def retried() -> tuple[str, list[str]] | None:
        content, changes = report_of(world, thread["id"])
        return (content, changes) if changes else None

    content, changes = eventually_sync(retried, 150, "the retried run's report", interval=2)
    assert threads_in(world, folder["id"])[0]["id"] == thread["id"] and len(threads_in(world, folder["id"])) == 1
    assert set(changes) == pending_ids(world) and all(f"`{d}`" in content for d in changes)
    assert {d.run_id for d in world.diffs(TASK)} == {run_id}
    chat = world.chat(thread["id"])
    assert list(chat["chat"]["history"]["messages"]) == [chat["chat"]["history"]["currentId"]]  # one report message


def test_an_earlier_thread_is_archived_only_when_nothing_is_left_to_decide(openwebui: OpenWebUIHandle) -> None:
    world = make_student_world(openwebui, "Archive Student", (TASK,))
    first = world.threads[TASK].chat_id
    _, first_changes = report_of(world, first)
    assert first_changes and set(first_changes) <= pending_ids(world)
    add_course_chat(world, ["I rewrote the ending of my essay and sent it to my counselor."])
    run_agent_by_hand(openwebui, TASK, world.user_id)
    assert world.chat(first)["archived"] is False  # its changes still wait for the student
    memory = world.memory()
    for diff_id in first_changes:
        if diff_id in pending_ids(world):
            memory.reject(diff_id, reviewer=f"student:{world.user_id}")
    run_agent_by_hand(openwebui, TASK, world.user_id)
    archived = world.chat(first)
    assert archived["archived"] is True and archived["folder_id"] is None  # as Open WebUI's own archiving leaves it
    run_agent_by_hand(openwebui, TASK, world.user_id)  # a closed thread is not read again, and stays archived
    assert world.chat(first)["archived"] is True


def test_a_forged_folder_is_never_written_into(openwebui: OpenWebUIHandle) -> None:
    world = make_student_world(openwebui, "Forger", ())
    with world.client() as client:
        forged = client.folders.create(AGENT, meta=folder_meta(TASK, COURSE_ID))
    run_agent_by_hand(openwebui, TASK, world.user_id)
    assert threads_in(world, forged["id"]) == []
    [made] = [f for f in agent_folders(world) if f["id"] != forged["id"]]
    assert made["name"] == f"{AGENT} (agent)" and len(threads_in(world, made["id"])) == 1
    assert recorded_folders(openwebui, world.user_id) == [made["id"]]


def test_a_deleted_folder_is_made_again_and_its_pending_changes_listed(openwebui: OpenWebUIHandle) -> None:
    world = make_student_world(openwebui, "Deleter", (TASK,))
    old = world.threads[TASK]
    _, old_changes = report_of(world, old.chat_id)
    assert old_changes
    with world.client() as client:
        assert client.folders.delete(old.folder_id)  # Open WebUI deletes the thread with it
        assert client.chats.get(old.chat_id) is None
    add_course_chat(world, ["My counselor says the new ending works; next I will polish the introduction."])
    run_agent_by_hand(openwebui, TASK, world.user_id)
    [folder] = agent_folders(world)
    assert folder["id"] != old.folder_id and folder["name"] == AGENT
    assert recorded_folders(openwebui, world.user_id) == [folder["id"]]
    [thread] = threads_in(world, folder["id"])
    content, changes = report_of(world, thread["id"])
    assert set(old_changes) <= set(changes), "a pending change of the deleted thread has no buttons anywhere"
    assert all(f"`{d}`" in content for d in old_changes)


def test_an_altered_folder_is_made_again(openwebui: OpenWebUIHandle) -> None:
    world = make_student_world(openwebui, "Alterer", (TASK,))
    old = world.threads[TASK]
    with world.client() as client:
        client.folders.update(old.folder_id, name="Renamed by me")
    run_agent_by_hand(openwebui, TASK, world.user_id)
    assert len(threads_in(world, old.folder_id)) == 2  # renamed is still the agent's folder
    with world.client() as client:
        client.folders.update(old.folder_id, meta={"course": "another-course"})
    run_agent_by_hand(openwebui, TASK, world.user_id)
    assert len(threads_in(world, old.folder_id)) == 2
    [new] = [f for f in agent_folders(world) if f["id"] != old.folder_id]
    assert new["meta"] == folder_meta(TASK, COURSE_ID) and len(threads_in(world, new["id"])) == 1
    assert recorded_folders(openwebui, world.user_id) == [new["id"]]


@pytest.fixture
def admin_page(chromium, openwebui: OpenWebUIHandle, request: pytest.FixtureRequest):
    page = StudentPage.open(chromium, openwebui.url, openwebui.admin_token)
    yield page
    page.close(failed_test=failed_test_name(request))


def test_the_admins_manual_run_chat_is_an_ordinary_chat(openwebui: OpenWebUIHandle, admin_page: StudentPage) -> None:
    world = make_student_world(openwebui, "Run Twice", ())
    model = f"youlab_agents.{TASK}"
    openwebui.api.models.available(refresh=True)
    chat = openwebui.api.chats.new({"title": "Manual runs", "models": [model], "history": {"messages": {}, "currentId": None},
                                    "messages": []})
    parent = None
    for attempt in (1, 2):
        reply = openwebui.api.chat_completion({
            "model": model, "chat_id": chat["id"], "id": f"reply-{attempt}-{chat['id']}",
            "messages": [{"role": "user", "content": world.user_id}],
            "user_message": {"id": f"ask-{attempt}-{chat['id']}", "parentId": parent, "role": "user",
                             "content": world.user_id},
        })
        assert "choices" in reply, f"run {attempt} in the admin's chat was refused: {reply}"
        summary = reply["choices"][0]["message"]["content"]
        assert "1 succeeded" in summary and world.user["email"] in summary and "(/c/" in summary
        stored = openwebui.api.chats.get(chat["id"])
        parent = stored["chat"]["history"]["currentId"]
    assert parent is not None
    admin_page.open_chat(chat["id"])
    verdict = admin_page.wait_for_decision(chat["id"])
    assert verdict["thread"] is None  # no read-only banner
    admin_page.wait_for_normal_chat()
    [folder] = agent_folders(world)  # each run wrote the student's thread; the admin's chat stays the admin's
    assert len(threads_in(world, folder["id"])) == 2
