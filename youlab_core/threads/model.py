"""What an agent thread is: records of chats and folders as the thread code sees them, and the markers that say
"this chat belongs to a background agent" (the contract every part follows; see docs/bundle.md)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

AGENT_TYPE = "background_agent"
AGENT_MODEL_PREFIX = "youlab_agents."
META_KEY = "youlab"  # chat.meta["youlab"]
REPORT_KEY = "youlab_report"  # chat.chat["youlab_report"]: the structured report, for re-rendering


def agent_model_id(task: str) -> str:
    return f"{AGENT_MODEL_PREFIX}{task}"


def task_of_model(model_id: str | None) -> str | None:
    """`youlab_agents.<task>` -> task; anything else -> None."""
    if isinstance(model_id, str) and model_id.startswith(AGENT_MODEL_PREFIX) and len(model_id) > len(AGENT_MODEL_PREFIX):
        return model_id[len(AGENT_MODEL_PREFIX):]
    return None


def thread_title(agent_name: str, when: datetime) -> str:
    """"Progression Grader - Nov 24, 2026" (no zero padding on the day, as people write dates)."""
    return f"{agent_name} - {when:%b} {when.day}, {when.year}"


def folder_meta(task: str, course: str) -> dict[str, str]:
    return {"type": AGENT_TYPE, "agentId": task, "course": course}


@dataclass(frozen=True)
class FolderRecord:
    id: str
    user_id: str
    name: str
    meta: dict[str, Any] = field(default_factory=dict)
    parent_id: str | None = None

    @property
    def agent_task(self) -> str | None:
        meta = self.meta or {}
        if meta.get("type") == AGENT_TYPE and isinstance(meta.get("agentId"), str):
            return meta["agentId"]
        return None


@dataclass(frozen=True)
class ChatRecord:
    """A chat row: `chat` is Open WebUI's chat JSON (title, models, history, messages...)."""

    id: str
    user_id: str
    title: str
    chat: dict[str, Any]
    meta: dict[str, Any] = field(default_factory=dict)
    folder_id: str | None = None
    archived: bool = False

    @property
    def models(self) -> list[str]:
        models = self.chat.get("models") if isinstance(self.chat, dict) else None
        return [m for m in models if isinstance(m, str)] if isinstance(models, list) else []

    @property
    def youlab_meta(self) -> dict[str, Any] | None:
        meta = (self.meta or {}).get(META_KEY)
        return meta if isinstance(meta, dict) and meta.get("type") == AGENT_TYPE else None

    def agent_messages(self) -> list[dict[str, Any]]:
        """Finished assistant messages written by an agent model (a fresh chat someone opened has none)."""
        history = self.chat.get("history") if isinstance(self.chat, dict) else None
        messages = history.get("messages") if isinstance(history, dict) else None
        if not isinstance(messages, dict):
            return []
        return [
            m
            for m in messages.values()
            if isinstance(m, dict)
            and m.get("role") == "assistant"
            and task_of_model(m.get("model")) is not None
            and m.get("content")
        ]


@dataclass(frozen=True)
class AgentThreadInfo:
    """Why a chat is an agent thread. `sources` names every source that said so (registry, folder, model, meta);
    `errors` names sources that could not be read (the decision was made without them)."""

    chat_id: str
    task: str
    agent: str
    course: str | None = None
    user_id: str | None = None
    run_id: str | None = None
    sources: tuple[str, ...] = ()
    errors: tuple[str, ...] = ()


@dataclass(frozen=True)
class ThreadRef:
    """What writing a run thread produced."""

    chat_id: str
    folder_id: str
    message_id: str
    title: str
    user_id: str
    task: str
    course: str
    run_id: str
    archived: tuple[str, ...] = ()  # older threads archived by this run
    carried: tuple[str, ...] = ()  # pending changes of earlier runs listed here because their thread is gone
    rewritten: bool = False  # the run's thread existed (a retry) and now holds this report
