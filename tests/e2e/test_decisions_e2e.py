"""A student who rejects a change in the review action is not asked about the same value again (issue 15), through
the session's real Open WebUI 0.12.4 and its HTTP API: the agent runs by hand (an admin calls its model), the
student rejects with a note, the agent runs again over the same chats, then again after a newer chat."""

from __future__ import annotations

import asyncio
from typing import Any

from tests.support.e2e_chats import agent_threads, pending_diffs, report_message, run_agent, student_chat
from tests.support.openwebui_stack import OpenWebUIHandle
from youlab_core.memory import DiffStatus, MemoryStore
from youlab_core.prompts import DialecticTask, parse_task

TASK = "youlab_agents.quick-after"
SCHOOL_QUESTION = "Which school does the student apply to?"


def school_diffs(ow: OpenWebUIHandle, user_id: str) -> dict[str, dict[str, Any]]:
    return {i: d for i, d in pending_diffs(ow, user_id).items() if d["field"] == "school"}


def school_prompts(ow: OpenWebUIHandle) -> list[DialecticTask]:
    found = []
    for request in list(ow.demo.requests):
        body = request.body if isinstance(request.body, dict) else {}
        task = parse_task(body.get("messages") or [])
        if isinstance(task, DialecticTask) and task.question == SCHOOL_QUESTION:
            found.append(task)
    return found


async def test_a_rejected_school_is_not_proposed_again_until_the_student_says_something_new(quick):
    user, token = quick.make_student("Rita")
    async with quick.client(token) as c:
        await c.chats.new(student_chat(["My essay topic is the bakery my parents run.",
                                        "I apply to Stanford because of its design school."]))
    await run_agent(quick, user["email"])
    [(rejected_id, rejected)] = school_diffs(quick, user["id"]).items()
    assert "Stanford" in rejected["proposed_value"]

    async with quick.client(token) as c:
        _, chats = await agent_threads(c, "quick-after")
        [chat] = chats
        body = {"model": TASK, "chat_id": chat["id"], "id": report_message(chat)["id"], "messages": [],
                "session_id": None, "youlab": {"decisions": [
                    {"diff_id": rejected_id, "decision": "reject", "note": "I have not decided on a school"}]}}
        result = await c.request("POST", "/api/chat/actions/youlab_review.review", json=body)
        assert result["youlab"]["statuses"][rejected_id] == "rejected"

    before = len(school_prompts(quick))
    await run_agent(quick, user["email"])  # the same chats: nothing new to say about the school
    assert school_diffs(quick, user["id"]) == {}
    memory = MemoryStore(quick.storage_root / "users").student(user["id"])
    assert memory.get_diff(rejected_id).status is DiffStatus.rejected
    prompt = school_prompts(quick)[before]
    assert len(prompt.decisions) == 1 and "I have not decided on a school" in prompt.decisions[0]
    assert prompt.decisions[0].startswith("the student rejected ")
    assert [d["field"] for d in pending_diffs(quick, user["id"]).values()] == ["topic"]  # shown again, not stacked

    await asyncio.sleep(1.5)  # message times have whole seconds: the new chats must be after the rejection
    async with quick.client(token) as c:
        # A newer chat whose answer is still the rejected sentence: held back (the value is what was rejected).
        await c.chats.new(student_chat(["Now I apply to Reed College because of its thesis program."]))
    await run_agent(quick, user["email"])
    assert school_diffs(quick, user["id"]) == {}
    async with quick.client(token) as c:
        await c.chats.new(student_chat(["Now the school I apply to is Reed College."]))
    await run_agent(quick, user["email"])  # new evidence and a value never rejected: proposed
    [(new_id, proposed)] = school_diffs(quick, user["id"]).items()
    assert new_id != rejected_id and "Reed College" in proposed["proposed_value"]
    assert proposed["proposed_value"].strip().casefold() != rejected["proposed_value"].strip().casefold()
