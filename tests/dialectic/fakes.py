"""Test helpers: an in-memory MessageSource and a small course with every scope and merge strategy."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

from youlab_core.config import CourseRegistry, parse_course
from youlab_core.dialectic import ChatSummary, HistoryMessage, MessageSource

T0 = datetime(2026, 11, 1, 12, 0, tzinfo=timezone.utc)

COURSE_TOML = """
[agent]
id = "essay"
name = "Essay"
models = ["essay-tutor"]

[block.student]
label = "human"
field.insights = { type = "string", default = "", description = "What we learned." }
field.profile = { type = "string", default = "", description = "Background." }

[block.journey]
label = "journey"
field.notes = { type = "string", default = "", description = "Grader notes." }
field.milestones = { type = "list", default = [], max = 5, description = "Milestones." }
field.approach = { type = "string", default = "Be kind.", description = "How to engage." }

[[task]]
name = "grader"
manual = true
system = "You grade essays."
queries = [
  { target = "student.insights", question = "What does the student love to write about?", scope = "all", merge = "append" },
  { target = "journey.notes", question = "What essay topic did the student choose?", scope = "recent", recent_limit = 2, merge = "replace" },
  { target = "journey.approach", question = "How does the student like feedback?", scope = "current", merge = "llm_diff" },
]

[[task]]
name = "no-manual"
manual = false
on_idle = true
queries = [{ target = "student.profile", question = "Where does the student live?", merge = "replace" }]
"""


def write_course(config_dir: Path, text: str = COURSE_TOML) -> CourseRegistry:
    folder = config_dir / "courses" / "essay"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "course.toml").write_text(text)
    registry = CourseRegistry(config_dir)
    assert registry.reload() == []
    return registry


def course():
    return parse_course(COURSE_TOML, "test.toml")


class FakeSource(MessageSource):
    """Chats kept in memory: {user: {chat_id: (ChatSummary, [HistoryMessage])}}. Counts reads."""

    def __init__(self) -> None:
        self.chats: dict[str, dict[str, tuple[ChatSummary, list[HistoryMessage]]]] = {}
        self.reads: list[tuple[str, str]] = []
        self.fail_next = 0

    def add_chat(self, user_id: str, chat_id: str, messages: list[tuple[str, str]], *, model: str = "essay-tutor",
                 minutes: int = 0, meta: dict | None = None) -> None:
        summary = ChatSummary(chat_id, chat_id, (model,), T0 + timedelta(minutes=minutes), meta or {})
        history = [HistoryMessage(role, text, T0 + timedelta(minutes=minutes, seconds=i))  # type: ignore[arg-type]
                   for i, (role, text) in enumerate(messages)]
        self.chats.setdefault(user_id, {})[chat_id] = (summary, history)

    async def list_chats(self, user_id: str) -> list[ChatSummary]:
        if self.fail_next:
            self.fail_next -= 1
            raise ConnectionError("source down")
        chats = [s for s, _ in self.chats.get(user_id, {}).values()]
        return sorted(chats, key=lambda c: c.updated_at, reverse=True)

    async def messages(self, user_id: str, chat_id: str) -> list[HistoryMessage]:
        self.reads.append((user_id, chat_id))
        found = self.chats.get(user_id, {}).get(chat_id)
        return list(found[1]) if found else []
