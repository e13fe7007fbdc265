"""The runner's REST message source and `youlab run` against the session's real Open WebUI 0.12.4."""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

import pytest

from tests.support.openwebui_stack import OpenWebUIHandle
from youlab_core.cli import main
from youlab_core.config import load_course
from youlab_core.dialectic import RestMessageSource, course_chats
from youlab_core.memory import MemoryStore

pytestmark = pytest.mark.e2e

TUTOR = "college-essay-tutor"
TASK = "progression-grader"


def chat_json(turns: list[tuple[str, str]], model: str, *, abandoned: str | None = None) -> dict[str, Any]:
    """A chat as the page stores it; with `abandoned`, the first reply was regenerated (a dead branch)."""
    messages: dict[str, dict[str, Any]] = {}
    parent = None
    now = int(time.time())
    for i, (role, text) in enumerate(turns):
        mid = f"m{i}-{uuid.uuid4().hex[:6]}"
        messages[mid] = {"id": mid, "parentId": parent, "childrenIds": [], "role": role, "content": text,
                         "timestamp": now + i, **({"model": model} if role == "assistant" else {})}
        if parent:
            messages[parent]["childrenIds"].append(mid)
        if abandoned and i == 1:
            dead = f"dead-{uuid.uuid4().hex[:6]}"
            messages[dead] = {"id": dead, "parentId": parent, "childrenIds": [], "role": "assistant",
                              "content": abandoned, "timestamp": now, "model": model}
            messages[parent]["childrenIds"].append(dead)
        parent = mid
    return {"title": "Essay", "models": [model], "history": {"currentId": parent, "messages": messages},
            "messages": [], "timestamp": now * 1000}


async def test_rest_source_reads_only_course_chats_on_the_current_branch(openwebui: OpenWebUIHandle, tmp_path):
    user, token = openwebui.make_student("rest-source")
    course = load_course(openwebui.config_dir / "courses/college-essay/course.toml")
    task = course.task(TASK)
    async with openwebui.client(token=token) as student:
        essay = await student.chats.import_one(chat_json(
            [("user", "My essay is about my grandmother's bakery."), ("assistant", "Lovely, tell me more."),
             ("user", "I want blunt feedback.")], TUTOR, abandoned="A reply the student regenerated away."))
        other = await student.chats.import_one(chat_json([("user", "Unrelated chat.")], "some-other-model"))
        thread = await student.chats.import_one(
            chat_json([("assistant", "Agent report.")], f"youlab_agents.{TASK}"),
            meta={"youlab": {"type": "background_agent", "task": TASK}})
    intruder, intruder_token = openwebui.make_student("rest-intruder")
    async with openwebui.client(token=intruder_token) as c:
        foreign = await c.chats.import_one(chat_json([("user", "Someone else's words.")], TUTOR))

    async with openwebui.client() as admin:
        source = RestMessageSource(admin)
        chats = await source.list_chats(user["id"])
        assert {c.id for c in chats} == {essay["id"], other["id"], thread["id"]}
        assert [c.id for c in course_chats(chats, course, task)] == [essay["id"]]
        messages = await source.messages(user["id"], essay["id"])
        assert [(m.role, m.content) for m in messages] == [
            ("user", "My essay is about my grandmother's bakery."), ("assistant", "Lovely, tell me more."),
            ("user", "I want blunt feedback.")]
        assert await source.messages(user["id"], foreign["id"]) == []

    # `youlab run` over REST alone is refused: it could not write the run thread the student reviews changes in.
    storage = tmp_path / "cli-root"
    code = await asyncio.to_thread(main, ["run", TASK, "--user", user["id"], "--config-dir", str(openwebui.config_dir),
                 "--storage-root", str(storage), "--openwebui-url", openwebui.url,
                 "--openwebui-api-key", openwebui.admin_token, "--llm-base-url", openwebui.demo.base_url,
                 "--llm-model", "youlab-demo"])
    assert code == 2
    assert not MemoryStore(storage / "users").student(user["id"]).list_diffs(status="pending")
