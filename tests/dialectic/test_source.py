from youlab_core.dialectic import branch_messages, messages_from_chat_body
from youlab_core.dialectic.source import epoch_to_datetime, summary_from_chat

HISTORY = {
    "m1": {"id": "m1", "parentId": None, "role": "user", "content": "first", "timestamp": 1700000000},
    "m2a": {"id": "m2a", "parentId": "m1", "role": "assistant", "content": "abandoned branch", "timestamp": 1700000001},
    "m2b": {"id": "m2b", "parentId": "m1", "role": "assistant", "content": "kept reply", "timestamp": 1700000002},
    "m3": {"id": "m3", "parentId": "m2b", "role": "user",
           "content": [{"type": "text", "text": "with an image"}, {"type": "image_url", "image_url": {}}],
           "timestamp": 1700000003},
    "m4": {"id": "m4", "parentId": "m3", "role": "system", "content": "system text", "timestamp": 1700000004},
}


def test_follows_the_current_branch_oldest_first_and_drops_other_roles():
    got = branch_messages(HISTORY, "m4")
    assert [(m.role, m.content) for m in got] == [("user", "first"), ("assistant", "kept reply"), ("user", "with an image")]
    assert got[0].at is not None and got[0].at.year == 2023


def test_without_current_id_the_newest_message_is_the_leaf():
    assert [m.content for m in branch_messages(HISTORY, None)][-1] == "with an image"


def test_a_parent_cycle_does_not_hang():
    looped = {"a": {"parentId": "b", "role": "user", "content": "a"}, "b": {"parentId": "a", "role": "user", "content": "b"}}
    assert len(branch_messages(looped, "a")) == 2


def test_legacy_messages_list_is_read_when_there_is_no_history():
    body = {"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}, {"role": "user", "content": " "}]}
    assert [m.content for m in messages_from_chat_body(body)] == ["hi", "hello"]


def test_summary_from_an_open_webui_row():
    row = {"id": "c1", "title": "T", "updated_at": 1700000000, "meta": {"youlab": {"type": "background_agent"}},
           "chat": {"models": ["essay-tutor"]}}
    s = summary_from_chat(row)
    assert s.models == ("essay-tutor",) and s.meta["youlab"]["type"] == "background_agent"
    assert epoch_to_datetime(1700000000123) == epoch_to_datetime(1700000000.123)
