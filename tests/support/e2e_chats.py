"""Talking to the session's Open WebUI as the e2e tests' students and admin do, on the e2e-quick course
(tests/e2e/courses/e2e-quick): a saved chat with the course tutor, one turn through the chat API, a student's agent
folder and threads, the report message, the pending changes on disk, a refusal's text, and a run by hand. Shared
by the e2e modules and the replica harness (tests/support/replicas.py)."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Awaitable
from typing import Any

from tests.support.openwebui_stack import OpenWebUIHandle
from youlab_core.openwebui import OpenWebUIClient, OpenWebUIError

TUTOR = "e2e-quick-tutor"
READ_ONLY = ("This thread is written by the background agent {name} and is read-only. "
             "Review its suggestions with the buttons under its report.")

def student_chat(text_lines: list[str]) -> dict[str, Any]:
    """A saved chat in the e2e tutor model with these student messages (the agents read it)."""
    messages: dict[str, Any] = {}
    parent = None
    ids = []
    now = int(time.time())
    for i, line in enumerate(text_lines):
        for role, content in (("user", line), ("assistant", "Tell me more.")):
            mid = f"m{i}{role[0]}"
            messages[mid] = {"id": mid, "parentId": parent, "childrenIds": [], "role": role, "content": content,
                             "timestamp": now, **({"model": TUTOR, "done": True} if role == "assistant" else {})}
            if parent:
                messages[parent]["childrenIds"].append(mid)
            parent = mid
            ids.append(mid)
    return {"title": "Essay", "models": [TUTOR], "history": {"currentId": parent, "messages": messages},
            "messages": [messages[i] for i in ids], "timestamp": now * 1000}


async def say(c: OpenWebUIClient, text: str, *, model: str = TUTOR, chat_id: str | None = None,
              parent_id: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"model": model, "messages": [{"role": "user", "content": text}]}
    if chat_id:  # what the browser sends to continue a saved chat: the new turn's ids and its parent
        body.update(chat_id=chat_id, id=str(uuid.uuid4()),
                    user_message={"id": str(uuid.uuid4()), "parentId": parent_id, "role": "user", "content": text})
    return await c.chat_completion(body)


async def agent_threads(c: OpenWebUIClient, task: str) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
    """The student's folder of this agent (full meta) and the chats in it."""
    for folder in await c.folders.list():
        full = await c.folders.get(folder["id"])
        if full and (full.get("meta") or {}).get("agentId") == task:
            return full, await c.chats.list_by_folder(full["id"])
    return None, []


def report_message(chat: dict[str, Any]) -> dict[str, Any]:
    history = chat["chat"]["history"]
    return history["messages"][history["currentId"]]


def pending_diffs(ow: OpenWebUIHandle, user_id: str) -> dict[str, dict[str, Any]]:
    folder = ow.storage_root / "users" / user_id / "pending_diffs"
    return {p.stem: json.loads(p.read_text()) for p in folder.glob("*.json")} if folder.exists() else {}


async def refusal(call: Awaitable[dict[str, Any]]) -> str:
    """The error text of a refused call (HTTP error, or the {"error": ...} body Open WebUI returns for a pipe)."""
    try:
        reply = await call
    except OpenWebUIError as exc:
        return str(exc.detail)
    assert "error" in reply and "choices" not in reply, reply
    return json.dumps(reply["error"])


def demo_calls(ow: OpenWebUIHandle) -> int:
    return len([r for r in ow.demo.requests if r.path.endswith("/chat/completions")])


QUICK_AFTER_MODEL = "youlab_agents.quick-after"


async def run_agent(ow: OpenWebUIHandle, email: str) -> None:
    async with ow.client() as admin:
        reply = await say(admin, email, model=QUICK_AFTER_MODEL)
    summary = reply["choices"][0]["message"]["content"]
    assert "1 succeeded" in summary, summary
