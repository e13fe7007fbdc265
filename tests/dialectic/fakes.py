"""Test helpers: an in-memory MessageSource and a small course with every scope and merge strategy."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

from youlab_core.config import CourseRegistry, parse_course
from youlab_core.dialectic import ChatSummary, HistoryMessage, MessageSource
from tests.support.courses import block, course_toml, query, task, write_course

T0 = datetime(2026, 11, 1, 12, 0, tzinfo=timezone.utc)

COURSE_TOML = course_toml(
    "essay",
    blocks={
        "student": block({"insights": {"type": "string", "default": "", "description": "What we learned."},
                          "profile": {"type": "string", "default": "", "description": "Background."}}, label="human"),
        "journey": block({"notes": {"type": "string", "default": "", "description": "Grader notes."},
                          "milestones": {"type": "list", "default": [], "max": 5, "description": "Milestones."},
                          "approach": {"type": "string", "default": "Be kind.", "description": "How to engage."}},
                         label="journey"),
    },
    tasks=[
        task("grader", system="You grade essays.", queries=[
            query("student.insights", "What does the student love to write about?", scope="all", merge="append"),
            query("journey.notes", "What essay topic did the student choose?", scope="recent", recent_limit=2,
                  merge="replace"),
            query("journey.approach", "How does the student like feedback?", scope="current", merge="llm_diff"),
        ]),
        task("no-manual", manual=False, on_idle=True,
             queries=[query("student.profile", "Where does the student live?", merge="replace")]),
    ],
)


def essay_registry(config_dir: Path, text: str = COURSE_TOML) -> CourseRegistry:
    """`text` as the only course under `config_dir`, loaded."""
    write_course(config_dir, text, folder="essay")
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
