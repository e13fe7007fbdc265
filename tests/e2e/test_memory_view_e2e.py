"""The student's memory view against the session's real Open WebUI 0.12.4 (docs/memory-view.md): an agent run
writes the pinned, read-only view; the student approves in the run thread, then from the view's buttons reads a
field's history, undoes the approval, edits the field and downloads their data. Each step is checked in the git
repository and in the tutor's next system prompt; a second student can neither read the view nor act on it, nor
open the download."""

from __future__ import annotations

import asyncio
import io
import json
import zipfile
from typing import Any

import git
import httpx
import pytest

from tests.support.e2e_chats import TUTOR, agent_threads, report_message, run_agent, say, student_chat
from tests.support.openwebui_stack import OpenWebUIHandle
from tests.support.student_repo import commit_ids, students_commits_since
from youlab_core.openwebui import OpenWebUIError
from youlab_core.threads.memory_view import memory_chat_id

pytestmark = pytest.mark.e2e
ACTION = "/api/chat/actions/youlab_review"
MEMORY_ACTION = "/api/chat/actions/youlab_memory"
MODEL = "youlab_agents.quick-after"
VIEW_MODEL = "youlab_agents.youlab:memory"
REVIEW_BUTTONS = [f"youlab_review.{b}" for b in ("approve_all", "reject_all", "review")]
MEMORY_BUTTONS = [f"youlab_memory.{b}" for b in ("history", "undo", "edit", "download")]


def system_prompt(ow: OpenWebUIHandle) -> str:
    """The system message of the tutor's last request to the demo model."""
    for request in reversed(list(ow.demo.requests)):
        body = request.body if isinstance(request.body, dict) else {}
        messages = body.get("messages") or []
        if messages and messages[0].get("role") == "system" and "test tutor" in str(messages[0].get("content")):
            return str(messages[0]["content"])
    return ""


async def prompt_after(ow: OpenWebUIHandle, c: Any) -> str:
    await asyncio.sleep(1.2)  # memory injection re-reads the block files at most once a second
    await say(c, "What do you know about me?", model=TUTOR)
    return system_prompt(ow)


async def act(c: Any, sub: str, chat_id: str, **youlab: Any) -> dict[str, Any]:
    """A button of the view: history / undo / edit / download are youlab_memory's, the decisions youlab_review's."""
    body = {"model": VIEW_MODEL, "chat_id": chat_id, "id": "view", "messages": [], "session_id": None, "youlab": youlab}
    action = ACTION if sub in ("approve_all", "reject_all", "review") else MEMORY_ACTION
    return await c.request("POST", f"{action}.{sub}", json=body)


async def test_see_undo_edit_and_download_through_the_real_open_webui(quick: OpenWebUIHandle):
    user, token = quick.make_student("Grace")
    other, other_token = quick.make_student("Mallory")
    async with quick.client(token) as c:
        await c.chats.new(student_chat(["My essay topic is the radio club I started.",
                                        "I apply to Carleton College."]))
    await run_agent(quick, user["email"])
    view_id = memory_chat_id(user["id"], "e2e-quick")
    repo = git.Repo(quick.storage_root / "users" / user["id"])
    async with quick.client(token) as c:
        view = await c.chats.get(view_id)
        assert view is not None and view["pinned"] is True, "the run wrote the pinned view"
        assert view["title"] == "Your memory \u2014 E2E Quick Course"
        message = report_message(view)
        assert view["chat"]["models"] == [VIEW_MODEL] and message["model"] == VIEW_MODEL, "the view's own model"
        models = {m["id"]: m for m in await c.models.available(refresh=True)}
        assert models[VIEW_MODEL]["name"] == "Your memory" and models[VIEW_MODEL]["info"]["meta"]["hidden"] is True
        assert sorted(a["id"] for a in models[VIEW_MODEL]["actions"]) == sorted(MEMORY_BUTTONS + REVIEW_BUTTONS)
        assert [a["id"] for a in models[MODEL]["actions"]] == REVIEW_BUTTONS, "agent reports carry no memory buttons"
        text = message["content"]
        assert "The essay topic the student chose" in text and "essay.topic" not in text
        assert "Quick After \u00b7 **2 waiting for you**" in text

        _, [thread] = await agent_threads(c, "quick-after")
        thread = await c.chats.get(thread["id"])
        approved = await c.request("POST", f"{ACTION}.approve_all", json={
            "model": MODEL, "chat_id": thread["id"], "id": report_message(thread)["id"], "messages": [],
            "session_id": None, "youlab": {"confirm": True}})
        assert set(approved["youlab"]["statuses"].values()) == {"approved"}
        topic_change = next(d for d in approved["youlab"]["statuses"])
        assert "radio" in (await prompt_after(quick, c)).lower()
        text = report_message(await c.chats.get(view_id))["content"]
        assert "Nothing waits for your decision." in text and "(approved by you)" in text

        history = await act(c, "history", view_id, field="essay.topic")
        [entry] = history["youlab"]["history"]
        assert entry["by"] == "Quick After (approved by you)" and entry["before"] == "" and entry["question"]

        diff_id = entry["change_id"]
        assert diff_id in approved["youlab"]["statuses"] and topic_change
        seen = commit_ids(repo)
        await act(c, "undo", view_id, field="essay.topic", diff_id=diff_id, confirm=True, note="not my topic")
        assert len(students_commits_since(repo, seen, user["id"])) == 1, "one undo, one commit, in the student's name"
        assert "radio" not in (await prompt_after(quick, c)).lower()

        seen = commit_ids(repo)
        await act(c, "edit", view_id, field="essay.topic", value="Teaching my grandfather to code")
        assert len(students_commits_since(repo, seen, user["id"])) == 1
        assert "Teaching my grandfather to code" in await prompt_after(quick, c)
        with pytest.raises(OpenWebUIError) as refused:
            await act(c, "edit", view_id, field="essay.nope", value="x")
        assert "has no field" in str(refused.value.detail)

        download = await act(c, "download", view_id)
        url = download["youlab"]["url"]
        async with httpx.AsyncClient(base_url=quick.url, timeout=60) as http:
            got = await http.get(url, headers={"Authorization": f"Bearer {token}"})
            assert got.status_code == 200
            archive = zipfile.ZipFile(io.BytesIO(got.content))
            decisions = [json.loads(line) for line in archive.read("decisions.jsonl").decode().splitlines()]
            assert {d["status"] for d in decisions} >= {"undone"}
            assert "memory/e2e-quick/essay.md" in archive.namelist()
            theirs = await http.get(url, headers={"Authorization": f"Bearer {other_token}"})
            assert theirs.status_code in (401, 403, 404)

    async with quick.client(other_token) as c:
        try:
            seen = await c.chats.get(view_id)
        except OpenWebUIError:
            seen = None
        assert seen is None, "another student cannot read the view"
        for sub, youlab in (("edit", {"field": "essay.topic", "value": "hacked"}), ("download", {}),
                            ("history", {"field": "essay.topic"})):
            try:
                answer = await act(c, sub, view_id, **youlab)
            except OpenWebUIError as exc:
                assert exc.status in (400, 401, 403, 404)
            else:
                assert "youlab" not in (answer or {}), (sub, answer)  # Open WebUI ran nothing for them
    assert "Teaching my grandfather to code" in (quick.storage_root / "users" / user["id"] / "memory-blocks"
                                                 / "e2e-quick" / "essay.md").read_text()
