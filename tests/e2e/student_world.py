"""A student with real agent threads, made through the product's own paths (for the browser tests).

The student's course chat is stored through Open WebUI's REST API (as the page stores it); then the admin runs each
agent by hand for that student (messaging the hidden model `youlab_agents.<task>`), which runs the real runner:
dialectic over the chat, merges, pending diffs in the student's git repository, the thread in the agent's folder.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from tests.support.openwebui_stack import OpenWebUIHandle
from youlab_core.config import load_course
from youlab_core.memory import MemoryStore, PendingDiff, StudentMemory
from youlab_core.openwebui import SyncOpenWebUIClient

COURSE_ID = "college-essay"
# Each sentence answers one of the course's agent questions, so every run proposes changes.
STUDENT_TURNS = [
    "My story is about my grandmother's bakery, where I learned the value of patience.",
    "I finished an outline and a first draft of my essay last night.",
    "My latest draft has progressed: the quality of the work is better but the ending is weak.",
    "What is blocking me right now is the opening paragraph.",
    "My background: I grew up in Ohio, my interests are baking and robotics, and my target schools are Tufts and Oberlin.",
]


def chat_json(turns: list[tuple[str, str]], model: str, title: str) -> dict[str, Any]:
    """A chat in the shape Open WebUI's page stores (history tree plus the flat message list)."""
    messages: dict[str, dict[str, Any]] = {}
    order: list[dict[str, Any]] = []
    parent: str | None = None
    now = int(time.time())
    for role, text in turns:
        message_id = str(uuid.uuid4())
        message: dict[str, Any] = {
            "id": message_id, "parentId": parent, "childrenIds": [], "role": role, "content": text, "timestamp": now,
        }
        message.update({"model": model, "done": True} if role == "assistant" else {"models": [model]})
        if parent:
            messages[parent]["childrenIds"].append(message_id)
        messages[message_id] = message
        order.append(message)
        parent = message_id
    return {
        "title": title, "models": [model], "history": {"currentId": parent, "messages": messages},
        "messages": order, "timestamp": now * 1000,
    }


@dataclass
class AgentThread:
    task: str
    chat_id: str
    folder_id: str
    title: str
    agent: str
    created_at: str


@dataclass
class StudentWorld:
    ow: OpenWebUIHandle
    user: dict[str, Any]
    token: str
    course_chat_id: str
    threads: dict[str, AgentThread] = field(default_factory=dict)

    @property
    def user_id(self) -> str:
        return str(self.user["id"])

    def client(self) -> SyncOpenWebUIClient:
        return SyncOpenWebUIClient(self.ow.url, token=self.token, timeout=120.0)

    def memory(self) -> StudentMemory:
        return MemoryStore(self.ow.storage_root / "users").student(self.user_id)

    def course(self) -> Any:
        return load_course(self.ow.config_dir / "courses" / COURSE_ID / "course.toml")

    def diffs(self, task: str) -> list[PendingDiff]:
        return [d for d in self.memory().list_diffs(course=COURSE_ID) if d.agent == task]

    def chat(self, chat_id: str) -> dict[str, Any]:
        with self.client() as client:
            chat = client.chats.get(chat_id)
        assert chat is not None, f"chat {chat_id} is gone"
        return chat


def run_agent_by_hand(ow: OpenWebUIHandle, task: str, user_id: str) -> str:
    """The admin's manual run (what the admin does by messaging the hidden agent model); returns its summary."""
    ow.api.models.available(refresh=True)  # the pipe's models appear after a model list refresh
    reply = ow.api.chat_completion({
        "model": f"youlab_agents.{task}",
        "messages": [{"role": "user", "content": user_id}],
    })
    if "choices" not in reply:
        raise AssertionError(f"the manual run of {task} for {user_id} failed: {reply}")
    return str(reply["choices"][0]["message"]["content"])


def make_student_world(ow: OpenWebUIHandle, name: str, tasks: tuple[str, ...]) -> StudentWorld:
    user, token = ow.make_student(name)
    turns: list[tuple[str, str]] = []
    for text in STUDENT_TURNS:
        turns += [("user", text), ("assistant", "Thank you. Tell me more.")]
    with SyncOpenWebUIClient(ow.url, token=token, timeout=120.0) as client:
        chat = client.chats.new(chat_json(turns, ow.tutor_model, "My essay"))
    world = StudentWorld(ow, user, token, chat["id"])
    for task in tasks:
        run_agent_by_hand(ow, task, world.user_id)
        world.threads[task] = find_thread(world, task)
    return world


def find_thread(world: StudentWorld, task: str) -> AgentThread:
    """The newest run thread of `task` in the student's agent folder, found the way the sidebar finds it."""
    with world.client() as client:
        for folder in client.folders.list():
            full = client.folders.get(folder["id"]) or {}
            if (full.get("meta") or {}).get("agentId") != task:
                continue
            chats = sorted(client.chats.list_by_folder(folder["id"]), key=lambda c: c["created_at"], reverse=True)
            if chats:
                youlab = chats[0]["meta"]["youlab"]
                return AgentThread(task, chats[0]["id"], folder["id"], chats[0]["title"], youlab["agent"],
                                   youlab["created_at"])
    raise AssertionError(f"no thread of {task} for {world.user_id} after a manual run")
