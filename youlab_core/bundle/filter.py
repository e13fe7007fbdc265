"""The global filter's work (plugins/youlab_filter.py is the thin shell).

inlet: the read-only guard (fails closed), then the message is handed to the activity worker (counting and the
Honcho queue happen off the chat path, fail open), then optionally the student's approved memory is added to the
tutor's system prompt.
outlet: the reply is handed to the activity worker, which queues it for Honcho and claims after_messages triggers
that became due; they start in the background, so the reply is never delayed.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from datetime import datetime, timezone
from typing import Any

from ..errors import UserFacingError
from ..guard import read_only_message
from ..threads.model import agent_model_id, task_of_model
from .activity import Job
from .context import Bundle

log = logging.getLogger(__name__)

class ReadOnlyThread(UserFacingError):
    """Raised by the inlet for a message into an agent thread; its text is what the student sees."""


GUARD_UNAVAILABLE = "YouLab could not check this chat just now, so the message was not sent. Please try again in a moment."


def _model_id(body: dict[str, Any], model: dict[str, Any] | None) -> str:
    return str((model or {}).get("id") or body.get("model") or "")


def is_uncounted_call(metadata: dict[str, Any], model_id: str) -> str | None:
    """Why this call is not a student's message (None: it is one).

    The body is not consulted: no key a client adds to it switches counting, Honcho mirroring or memory off. The
    bundle's own LLM calls need no mark: they go through Open WebUI's generate_chat_completion in-process with
    bypass_filter=True (youlab_core/llm/openwebui.py), so no filter sees them. `metadata` is built by Open WebUI's
    server (a client's `metadata` is replaced), though it copies a request's `automation_id` as sent."""
    if metadata.get("task"):
        return f"Open WebUI task {metadata.get('task')}"
    if metadata.get("automation_id"):
        return "automation run"
    if task_of_model(model_id):
        return "agent model"
    return None


def last_message(body: dict[str, Any], role: str) -> str:
    for message in reversed(body.get("messages") or []):
        if isinstance(message, dict) and message.get("role") == role:
            content = message.get("content")
            if isinstance(content, list):  # multimodal parts
                return "\n".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
            return str(content or "")
    return ""


async def inlet(bundle: Bundle, body: dict[str, Any], *, user: dict[str, Any], metadata: dict[str, Any], model: dict[str, Any] | None) -> dict[str, Any]:
    metadata = metadata or {}
    user_id = str((user or {}).get("id") or metadata.get("user_id") or "")
    chat_id = metadata.get("chat_id") or body.get("chat_id")
    model_id = _model_id(body, model)

    parts = await bundle.start()  # never raises; None while the state store cannot be opened
    info = await bundle.guard.is_agent_thread(chat_id, user_id, model_id=model_id)
    if info is not None:
        log.info("refused a message into agent thread %s (%s)", info.chat_id, ",".join(info.sources))
        await _keep_agent_model(bundle, info, model_id)
        raise ReadOnlyThread(read_only_message(info))

    if is_uncounted_call(metadata, model_id) or not user_id:
        return body

    try:
        bundle.reload_config()
        courses = bundle.courses_counting(model_id)
        if courses and parts is not None:
            parts.activity.submit(Job(user_id, tuple(c.id for c in courses), chat_id, "user", last_message(body, "user"),
                                      datetime.now(timezone.utc), None))
    except Exception:  # counting fails open: the student's chat goes on
        log.exception("YouLab could not record a message of user %s; the chat continues", user_id)
        courses = []

    if bundle.settings.inject_memory and courses:
        try:
            body = await inject_memory(bundle, body, user_id, model_id)
        except Exception:
            log.exception("YouLab could not add approved memory to the system prompt for user %s", user_id)
    return body


async def _keep_agent_model(bundle: Bundle, info: Any, requested_model: str) -> None:
    """Open WebUI stores the refused turn and sets `chat.models` to the requested model BEFORE filters run; put the
    agent model back so the thread keeps showing (and being recognised) as the agent's."""
    if info.task == "unknown" or task_of_model(requested_model) == info.task:
        return
    try:
        await bundle.backend.update_chat_json(info.chat_id, {"models": [agent_model_id(info.task)]})
    except Exception:
        log.warning("could not restore the agent model of thread %s", info.chat_id, exc_info=True)


async def outlet(bundle: Bundle, body: dict[str, Any], *, user: dict[str, Any], metadata: dict[str, Any], model: dict[str, Any] | None) -> dict[str, Any]:
    metadata = metadata or {}
    user_id = str((user or {}).get("id") or metadata.get("user_id") or "")
    chat_id = metadata.get("chat_id") or body.get("chat_id")
    model_id = _model_id(body, model)
    if is_uncounted_call(metadata, model_id) or not user_id:
        return body
    try:
        courses = bundle.courses_counting(model_id)
        parts = await bundle.start() if courses else None
        if parts is not None:
            parts.activity.submit(Job(user_id, tuple(c.id for c in courses), chat_id, "assistant",
                                      last_message(body, "assistant"), datetime.now(timezone.utc), asyncio.get_running_loop()))
    except Exception:
        log.exception("YouLab outlet failed for user %s; the reply is not affected", user_id)
    return body


MEMORY_HEADER = "What you know about this student (approved by the student; use it, do not quote it verbatim):"


_memory_cache: dict[tuple[str, str, str], tuple[tuple[Any, ...], str, float]] = {}
MEMORY_RECHECK_SECONDS = 1.0  # an approval reaches the tutor's prompt at most this much later


def _blocks_stamp(bundle: Bundle, user_id: str, course_id: str) -> tuple[Any, ...]:
    """Names, sizes and mtimes of the student's block files: changes whenever a block is written (writes are
    atomic renames), so the rendered text can be cached until then."""
    folder = bundle.settings.users_root / user_id / "memory-blocks" / course_id
    try:
        return tuple(sorted((e.name, e.stat().st_mtime_ns, e.stat().st_size) for e in os.scandir(folder)))
    except FileNotFoundError:
        return ()


def _approved_text(bundle: Bundle, user_id: str, course: Any) -> str:
    key = (str(bundle.settings.users_root), user_id, course.id)
    cached = _memory_cache.get(key)
    now = time.monotonic()
    if cached is not None and now - cached[2] < MEMORY_RECHECK_SECONDS:
        return cached[1]
    stamp = _blocks_stamp(bundle, user_id, course.id)
    if cached is not None and cached[0] == stamp:
        _memory_cache[key] = (stamp, cached[1], now)
        return cached[1]
    sections: list[str] = []
    if stamp:
        memory = bundle.memory.student(user_id)
        for info in memory.list_blocks(course):
            if not info.exists:
                continue
            block = memory.read_block(course, info.name)
            lines = [f"{k}: {v}" for k, v in block.values.items() if v not in (None, "", [], 0)]
            if lines:
                sections.append(f"## {block.title or block.name}\n" + "\n".join(lines))
    text = "\n\n".join(sections)
    _memory_cache[key] = (stamp, text, now)
    return text


async def inject_memory(bundle: Bundle, body: dict[str, Any], user_id: str, model_id: str) -> dict[str, Any]:
    """Add the student's approved blocks (what their memory holds: only approved changes are ever written) to the
    system message of a course tutor model."""
    texts = [_approved_text(bundle, user_id, c) for c in bundle.courses.courses_for_model(model_id)]
    texts = [t for t in texts if t]
    if not texts:
        return body
    text = MEMORY_HEADER + "\n\n" + "\n\n".join(texts)
    messages = list(body.get("messages") or [])
    if messages and isinstance(messages[0], dict) and messages[0].get("role") == "system":
        first = dict(messages[0])
        first["content"] = f"{first.get('content') or ''}\n\n{text}".strip()
        messages[0] = first
    else:
        messages.insert(0, {"role": "system", "content": text})
    return {**body, "messages": messages}
