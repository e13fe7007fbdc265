from youlab_core.config import QuerySpec, Scope
from youlab_core.dialectic import ChatSummary, course_chats, is_agent_chat, select_chats

from .fakes import T0, course

from datetime import timedelta


def chat(chat_id, minutes, model="essay-tutor", meta=None):
    return ChatSummary(chat_id, chat_id, (model,), T0 + timedelta(minutes=minutes), meta or {})


CHATS = [
    chat("old", 1),
    chat("mid", 2),
    chat("new", 3),
    chat("other-course", 4, model="llama3"),
    chat("agent-thread", 5, model="youlab_agents.grader"),
    chat("agent-meta", 6, meta={"youlab": {"type": "background_agent"}}),
    chat("registry-thread", 7),
]


def q(scope, **extra):
    return QuerySpec(target="student.insights", question="q?", scope=Scope(scope), **extra)


def ids(chats):
    return [c.id for c in chats]


def registry_says(chat_id):
    return chat_id == "registry-thread"


def test_only_course_chats_that_are_not_agent_threads_count():
    c = course()
    assert ids(course_chats(CHATS, c, c.task("grader"), registry_says)) == ["new", "mid", "old"]
    assert is_agent_chat(CHATS[4]) and is_agent_chat(CHATS[5]) and not is_agent_chat(CHATS[6])


def test_all_scope_is_every_course_chat_newest_first():
    c = course()
    assert ids(select_chats(CHATS, c, q("all"), is_agent_thread=registry_says)) == ["new", "mid", "old"]


def test_recent_scope_honours_recent_limit():
    c = course()
    assert ids(select_chats(CHATS, c, q("recent", recent_limit=2), is_agent_thread=registry_says)) == ["new", "mid"]
    assert ids(select_chats(CHATS, c, q("recent", recent_limit=1), is_agent_thread=registry_says)) == ["new"]


def test_current_scope_is_the_trigger_chat_or_the_latest():
    c = course()
    assert ids(select_chats(CHATS, c, q("current"), chat_id="old", is_agent_thread=registry_says)) == ["old"]
    assert ids(select_chats(CHATS, c, q("current"), is_agent_thread=registry_says)) == ["new"]
    # A trigger chat that is not a course chat (or is an agent thread) falls back to the latest course chat.
    assert ids(select_chats(CHATS, c, q("current"), chat_id="agent-thread", is_agent_thread=registry_says)) == ["new"]


def test_specific_scope_reads_only_named_course_chats():
    c = course()
    query = q("specific", sessions=["old", "agent-thread", "other-course", "missing"])
    assert ids(select_chats(CHATS, c, query, is_agent_thread=registry_says)) == ["old"]


def test_a_broken_registry_counts_as_agent_thread():
    def broken(chat_id):
        raise RuntimeError("db down")

    c = course()
    assert select_chats(CHATS, c, q("all"), is_agent_thread=broken) == []


def test_task_agent_types_decide_which_models_count():
    c = course()
    task = c.task("grader")
    assert task.agent_types == ["tutor"]
    assert ids(course_chats([chat("x", 1, model="essay-tutor"), chat("y", 2, model="llama3")], c, task)) == ["x"]
