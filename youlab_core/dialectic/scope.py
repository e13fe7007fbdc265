"""Which chats a query may read: the scope rules shared by both dialectic backends.

A course chat is a chat of the student whose model the course covers for the task (`Course.covers_model`), and that
is not an agent thread. Agent threads never count, whatever says so: a `youlab_agents.` model, `meta.youlab`, or the
state store's thread registry (passed in as `is_agent_thread`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from ..config import Course, QuerySpec, Scope, TaskSpec
from ..threads.model import AGENT_MODEL_PREFIX, META_KEY
from .source import ChatSummary

AgentThreadCheck = Callable[[str], bool]


def is_agent_chat(chat: ChatSummary, is_agent_thread: AgentThreadCheck | None = None) -> bool:
    if any(m.startswith(AGENT_MODEL_PREFIX) for m in chat.models):
        return True
    if chat.meta.get(META_KEY):
        return True
    if is_agent_thread is not None:
        try:
            return bool(is_agent_thread(chat.id))
        except Exception:  # a broken registry must not leak an agent thread into a transcript
            return True
    return False


def is_course_chat(chat: ChatSummary, course: Course, task: TaskSpec | None) -> bool:
    if task is None:
        return any(m in course.agent.models for m in chat.models)
    return any(course.covers_model(task, m) for m in chat.models)


def course_chats(
    chats: Sequence[ChatSummary],
    course: Course,
    task: TaskSpec | None,
    is_agent_thread: AgentThreadCheck | None = None,
) -> list[ChatSummary]:
    """The course chats among `chats`, most recently updated first."""
    kept = [c for c in chats if is_course_chat(c, course, task) and not is_agent_chat(c, is_agent_thread)]
    return sorted(kept, key=lambda c: (c.updated_at, c.id), reverse=True)


def select_chats(
    chats: Sequence[ChatSummary],
    course: Course,
    query: QuerySpec,
    *,
    task: TaskSpec | None = None,
    chat_id: str | None = None,
    is_agent_thread: AgentThreadCheck | None = None,
) -> list[ChatSummary]:
    """The chats `query.scope` selects, most recently updated first.

    current: the trigger's chat when it is a course chat, else the latest course chat; recent: the `recent_limit`
    latest; specific: the query's `sessions` that are the student's course chats; all: every course chat.
    """
    eligible = course_chats(chats, course, task, is_agent_thread)
    if query.scope is Scope.current:
        if chat_id is not None:
            chosen = [c for c in eligible if c.id == chat_id]
            if chosen:
                return chosen
        return eligible[:1]
    if query.scope is Scope.recent:
        return eligible[: query.recent_limit]
    if query.scope is Scope.specific:
        wanted = set(query.sessions)
        return [c for c in eligible if c.id in wanted]
    return eligible
