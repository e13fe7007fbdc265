"""The Honcho dialectic with the real honcho-ai SDK against the Honcho test server (v3 wire protocol)."""

from __future__ import annotations

import pytest
from honcho import Honcho
from honcho.api_types import MessageCreateParams

from youlab_core.config import QuerySpec, Scope
from youlab_core.dialectic import DialecticError, HonchoDialectic, honcho_peer_id, honcho_session_id
from youlab_core.dialectic.honcho import honcho_client

from .fakes import FakeSource, course

CHATS = {
    "c-old": "I love writing about my grandmother's garden.",
    "c-mid": "My essay is about the garden club I started.",
    "c-new": "Honestly the garden matters less now; robotics is my thing.",
    "c-other": "In another course I wrote about garden gnomes.",  # not a course chat
}


@pytest.fixture
async def seeded(honcho_server):
    client = Honcho(base_url=honcho_server.url, workspace_id="youlab", max_retries=0)
    peer = honcho_peer_id("u1")
    for chat_id, text in CHATS.items():
        session = await client.aio.session(honcho_session_id(chat_id), peers=[peer])
        await session.aio.add_messages([MessageCreateParams(content=text, peer_id=peer)])
    source = FakeSource()
    for minutes, chat_id in enumerate(CHATS):
        source.add_chat("u1", chat_id, [("user", CHATS[chat_id])], minutes=minutes,
                        model="llama3" if chat_id == "c-other" else "essay-tutor")
    return source


def make(honcho_server, source=None, timeout=10.0):
    return HonchoDialectic(honcho_client(honcho_server.url, "", "youlab", timeout=timeout), source=source,
                           timeout=timeout)


def query(scope, **extra):
    return QuerySpec(target="student.insights", question="What does the student write about the garden?",
                     scope=Scope(scope), **extra)


def last_chat_body(honcho_server):
    return honcho_server.calls("chat")[-1].body


async def test_current_scope_sends_one_session(seeded, honcho_server):
    d = make(honcho_server, seeded)
    answer = await d.ask("u1", course(), query("current"), system="", chat_id="c-old")
    assert answer.sessions_used == ("c-old",)
    assert last_chat_body(honcho_server)["session_id"] == honcho_session_id("c-old")
    assert "grandmother" in answer.text and "club" not in answer.text
    answer = await d.ask("u1", course(), query("current"), system="")
    assert answer.sessions_used == ("c-new",)


async def test_recent_scope_sends_an_allowlist_in_one_call(seeded, honcho_server):
    d = make(honcho_server, seeded)
    answer = await d.ask("u1", course(), query("recent", recent_limit=2), system="")
    assert answer.sessions_used == ("c-new", "c-mid")
    assert len(honcho_server.calls("chat")) == 1
    assert sorted(last_chat_body(honcho_server)["filters"]["session_id"]) == sorted(
        [honcho_session_id("c-new"), honcho_session_id("c-mid")])
    assert "grandmother" not in answer.text and "club" in answer.text


async def test_specific_scope_reads_only_named_course_chats(seeded, honcho_server):
    d = make(honcho_server, seeded)
    answer = await d.ask("u1", course(), query("specific", sessions=["c-old", "c-other"]), system="")
    assert answer.sessions_used == ("c-old",)
    assert last_chat_body(honcho_server)["filters"]["session_id"] == [honcho_session_id("c-old")]


async def test_all_scope_has_no_session_filter(seeded, honcho_server):
    d = make(honcho_server, seeded)
    answer = await d.ask("u1", course(), query("all"), system="")
    body = last_chat_body(honcho_server)
    assert "session_id" not in body and "filters" not in body
    assert "grandmother" in answer.text or "club" in answer.text or "gnomes" in answer.text


async def test_without_a_message_source_recent_uses_honchos_sessions(seeded, honcho_server):
    d = make(honcho_server, None)
    answer = await d.ask("u1", course(), query("recent", recent_limit=2), system="")
    assert len(answer.sessions_used) == 2
    assert set(last_chat_body(honcho_server)["filters"]["session_id"]) <= {honcho_session_id(c) for c in CHATS}


async def test_a_student_unknown_to_honcho_is_nothing_known(seeded, honcho_server):
    d = make(honcho_server, seeded)
    answer = await d.ask("stranger", course(), query("all"), system="")
    assert answer.text == ""


async def test_a_chat_not_yet_mirrored_does_not_hide_the_others(seeded, honcho_server):
    seeded.add_chat("u1", "c-brand-new", [("user", "just typed")], minutes=9)
    d = make(honcho_server, seeded)
    answer = await d.ask("u1", course(), query("recent", recent_limit=2), system="")
    assert answer.sessions_used == ("c-new",)
    assert answer.text


async def test_errors_are_classified_for_retry(seeded, honcho_server):
    d = make(honcho_server, seeded)
    honcho_server.fail_next(1, status=503, kind="chat")
    with pytest.raises(DialecticError) as info:
        await d.ask("u1", course(), query("all"), system="")
    assert info.value.transient
    honcho_server.fail_next(1, status=429, retry_after=2, kind="chat")
    with pytest.raises(DialecticError) as info:
        await d.ask("u1", course(), query("all"), system="")
    assert info.value.transient and info.value.retry_after == 2
    honcho_server.fail_next(1, status=403, kind="chat")
    with pytest.raises(DialecticError) as info:
        await d.ask("u1", course(), query("all"), system="")
    assert not info.value.transient


async def test_a_conflict_is_transient_and_a_bad_request_is_not(seeded, honcho_server):
    d = make(honcho_server, seeded)
    honcho_server.fail_next(1, status=409, kind="chat")
    with pytest.raises(DialecticError) as info:
        await d.ask("u1", course(), query("all"), system="")
    assert info.value.transient and info.value.status == 409
    honcho_server.fail_next(1, status=400, kind="chat")
    with pytest.raises(DialecticError) as info:
        await d.ask("u1", course(), query("all"), system="")
    assert not info.value.transient and info.value.status == 400


async def test_a_chat_list_failure_is_transient_only_when_the_source_is_down(seeded, honcho_server):
    d = make(honcho_server, seeded)
    seeded.fail_next = 1  # the source raises ConnectionError once
    with pytest.raises(DialecticError) as info:
        await d.ask("u1", course(), query("recent"), system="")
    assert info.value.transient and "could not list the student's chats" in str(info.value)

    async def broken(user_id):
        raise KeyError("chat_id")

    seeded.list_chats = broken
    with pytest.raises(DialecticError) as info:
        await d.ask("u1", course(), query("recent"), system="")
    assert not info.value.transient


async def test_the_dialectic_has_its_own_timeout(seeded, honcho_server):
    honcho_server.set_latency(1.0, "chat")
    d = make(honcho_server, seeded, timeout=0.2)
    with pytest.raises(DialecticError) as info:
        await d.ask("u1", course(), query("all"), system="")
    assert info.value.transient
    await d.aclose()


# ---- the student's earlier decisions travel in the query (Honcho has no system prompt) ----------------------------

from youlab_core.dialectic.honcho import QUERY_MAX_CHARS  # noqa: E402
from youlab_core.prompts import PastDecision  # noqa: E402

from .fakes import T0  # noqa: E402


async def test_decisions_go_into_the_query_and_the_answer_says_how_new_its_chats_are(seeded, honcho_server):
    d = make(honcho_server, seeded)
    rejected = PastDecision("rejected", "Gardens.", "2026-11-02", "not any more")
    answer = await d.ask("u1", course(), query("recent", recent_limit=2), system="", decisions=[rejected])
    sent = last_chat_body(honcho_server)["query"]
    assert sent == ("What does the student write about the garden?\n\nContext, the student's earlier decisions on "
                    'answers to this question (newest first):\n- the student rejected "Gardens." on 2026-11-02, '
                    'saying "not any more"')
    assert answer.newest_message_at == T0.replace(minute=2)  # c-new, the newer of the two chats read
    plain = await d.ask("u1", course(), query("recent", recent_limit=2), system="")
    assert last_chat_body(honcho_server)["query"] == "What does the student write about the garden?"
    assert plain.newest_message_at is None  # only looked up when a decision could need it


async def test_decisions_are_cut_to_the_budget_and_honchos_query_limit(seeded, honcho_server):
    many = [PastDecision("rejected", "x" * 400, "2026-11-02") for _ in range(100)]
    d = make(honcho_server, seeded)
    await d.ask("u1", course(), query("all"), system="", decisions=many)
    sent = last_chat_body(honcho_server)["query"]
    assert len(sent) <= QUERY_MAX_CHARS and 0 < sent.count("- the student rejected") < 100
    small = HonchoDialectic(d.client, source=seeded, history_token_budget=500)
    await small.ask("u1", course(), query("all"), system="", decisions=many)
    assert last_chat_body(honcho_server)["query"].count("- the student rejected") == 1  # 125 tokens: one fits
