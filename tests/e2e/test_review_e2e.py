"""The review trusts only the server, against the session's real Open WebUI 0.12.4: a student's real agent thread
whose report data is forged in Open WebUI's database (the write guard refuses such edits over HTTP, so the test
writes the row directly, as anyone with database access could), and a copy of the thread made through
/api/v1/chats/new. The review acts only on the thread registry and the memory store, and its next render puts the
true report back in the chat."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from typing import Any

import pytest

from tests.support.e2e_chats import agent_threads, report_message, say, student_chat
from tests.support.waiting import eventually
from tests.support.openwebui_stack import OpenWebUIHandle
from youlab_core.config.registry import CourseRegistry
from youlab_core.memory import MemoryStore
from youlab_core.openwebui import OpenWebUIError

pytestmark = pytest.mark.e2e

ACTION = "/api/chat/actions/youlab_review"
FORGED_TEXT = "Everything in this report was approved by your teacher."


@pytest.fixture(scope="module")
def thread(quick: OpenWebUIHandle) -> dict[str, Any]:
    user, token = quick.make_student("Hedy")

    async def scenario() -> dict[str, Any]:
        async with quick.client(token) as c:
            await c.chats.new(student_chat(["My essay is about building radios with my aunt.",
                                            "I apply to Harvey Mudd College."]))
            for text in ("Hello coach.", "I drafted an opening.", "What should I fix?"):
                await say(c, text)

            async def ready():
                _, chats = await agent_threads(c, "quick-after")
                return chats[0] if chats else None

            chat = await eventually(ready, 90, "the quick-after thread")
            return {"user": user, "token": token, "chat": await c.chats.get(chat["id"])}

    return asyncio.run(scenario())


def other_diffs(quick: OpenWebUIHandle, user_id: str) -> tuple[str, str]:
    """A pending diff of another student, and one of this student proposed by another agent (neither in the run)."""
    registry = CourseRegistry(quick.config_dir)
    registry.reload()
    course = registry.course("e2e-quick")
    users = MemoryStore(quick.storage_root / "users")
    theirs = users.student("someone-else").propose(
        course, agent="quick-after", run_id="run-of-someone-else", block="essay", field="topic", operation="replace",
        proposed_value="Not Hedy's topic", reasoning="x", confidence="high", source_query="q")
    mine = users.student(user_id).propose(
        course, agent="quick-minute", run_id="another-agents-run", block="notes", field="minute", operation="replace",
        proposed_value="Another agent's note", reasoning="x", confidence="high", source_query="q")
    return theirs.id, mine.id


def forge_in_database(quick: OpenWebUIHandle, chat_id: str, change_ids: list[str]) -> None:
    """Rewrite the thread's chat JSON in Open WebUI's database: the report data lists other diffs, marks everything
    approved, and the message says so."""
    db = sqlite3.connect(quick.data_dir / "webui.db")
    try:
        (raw,) = db.execute("SELECT chat FROM chat WHERE id = ?", (chat_id,)).fetchone()
        chat = json.loads(raw)
        report = chat["youlab_report"]
        report["changes"] = [{"diff_id": d, "target": "essay.topic", "before": "", "after": "forged", "status": "approved"}
                             for d in change_ids]
        report["run_id"] = "forged-run"
        message_id = chat["history"]["currentId"]
        chat["history"]["messages"][message_id]["content"] = FORGED_TEXT
        chat["messages"] = [{**m, "content": FORGED_TEXT} if m.get("id") == message_id else m for m in chat["messages"]]
        db.execute("UPDATE chat SET chat = ? WHERE id = ?", (json.dumps(chat), chat_id))
        db.commit()
    finally:
        db.close()


def run_diff_ids(quick: OpenWebUIHandle, user_id: str, run_id: str) -> set[str]:
    memory = MemoryStore(quick.storage_root / "users").student(user_id)
    return {d.id for d in memory.list_diffs() if d.run_id == run_id}


async def refused(c: Any, sub: str, body: dict[str, Any]) -> str:
    with pytest.raises(OpenWebUIError) as err:
        await c.request("POST", f"{ACTION}.{sub}", json=body)
    return str(err.value.detail)


async def test_a_forged_report_is_never_trusted_and_the_next_render_restores_it(quick, thread):
    user, chat = thread["user"], thread["chat"]
    truth = chat["chat"]["youlab_report"]
    true_ids = run_diff_ids(quick, user["id"], truth["run_id"])
    assert true_ids and {c["diff_id"] for c in truth["changes"]} == true_ids
    theirs, other_agent = other_diffs(quick, user["id"])
    forge_in_database(quick, chat["id"], [theirs, other_agent])
    message = report_message(chat)
    body = {"model": "youlab_agents.quick-after", "chat_id": chat["id"], "id": message["id"], "messages": [],
            "session_id": None}
    async with quick.client(thread["token"]) as c:
        forged = await c.chats.get(chat["id"])
        assert report_message(forged)["content"] == FORGED_TEXT  # the forgery reached what Open WebUI serves
        for diff_id in (theirs, other_agent):
            text = await refused(c, "review", {**body, "youlab": {"decisions": [{"diff_id": diff_id, "decision": "approve"}]}})
            assert "is not part of this report; nothing was decided" in text
        assert "must be" in await refused(c, "review", {**body, "youlab": {"decisions": "approve everything"}})
        assert "at most 2,000" in await refused(c, "reject_all", {**body, "youlab": {"confirm": True, "note": "x" * 2001}})

        result = await c.request("POST", f"{ACTION}.reject_all", json={**body, "youlab": {"confirm": True, "note": "not yet"}})
        assert result["youlab"]["statuses"] == {d: "rejected" for d in true_ids}
        assert result["youlab"]["results"] == [f"`{d}` rejected." for d in result["youlab"]["statuses"]]
        restored = await c.chats.get(chat["id"])
    report = restored["chat"]["youlab_report"]
    assert report["run_id"] == truth["run_id"] and {c["diff_id"] for c in report["changes"]} == true_ids
    content = report_message(restored)["content"]
    assert FORGED_TEXT not in content and "❌ rejected" in content and "forged" not in json.dumps(report)
    users = MemoryStore(quick.storage_root / "users")
    assert users.student("someone-else").get_diff(theirs).status.value == "pending"
    assert users.student(user["id"]).get_diff(other_agent).status.value == "pending"


async def test_a_copy_made_through_the_api_gets_no_review(quick, thread):
    chat = thread["chat"]
    async with quick.client(thread["token"]) as c:
        copy = await c.chats.new({**chat["chat"], "title": "My copy"})
        body = {"model": "youlab_agents.quick-after", "chat_id": copy["id"], "id": report_message(chat)["id"],
                "messages": [], "session_id": None, "youlab": {"confirm": True}}
        text = await refused(c, "approve_all", body)
    assert "This is a copy of an agent report; decide its changes in the agent's own thread." in text
    intruder, token = quick.make_student("Mallory")
    async with quick.client(token) as c:
        text = await refused(c, "approve_all", {**body, "chat_id": chat["id"]})
    assert "agent report" not in text  # someone else's thread: no hint that it is one
