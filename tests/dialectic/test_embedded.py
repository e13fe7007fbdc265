"""The embedded dialectic against the demo model (a real OpenAI-compatible HTTP server) over a fake chat source."""

import pytest

from youlab_core.config import QuerySpec, Scope
from youlab_core.dialectic import DialecticError, EmbeddedDialectic
from youlab_core.llm import OpenAICompatibleLLM
from youlab_core.prompts import parse_task

from .fakes import FakeSource, course


@pytest.fixture
def source():
    s = FakeSource()
    s.add_chat("u1", "c-old", [("user", "I love writing about my grandmother's garden."), ("assistant", "Nice!")], minutes=1)
    s.add_chat("u1", "c-mid", [("user", "My essay topic is the garden and resilience.")], minutes=2)
    s.add_chat("u1", "c-new", [("user", "Please give me blunt feedback on my essay."), ("assistant", "Sure.")], minutes=3)
    s.add_chat("u1", "c-other", [("user", "Secret from another course about gardens.")], minutes=4, model="llama3")
    s.add_chat("u1", "c-agent", [("assistant", "Agent report about gardens.")], minutes=5, model="youlab_agents.grader")
    s.add_chat("u2", "c-u2", [("user", "I am another student who loves gardens.")], minutes=6)
    return s


@pytest.fixture
async def llm(demo_model):
    client = OpenAICompatibleLLM(demo_model.base_url, "k", "youlab-demo", timeout=10)
    yield client
    await client.aclose()


def query(scope, **extra):
    return QuerySpec(target="student.insights", question="What does the student write about gardens?",
                     scope=Scope(scope), **extra)


def sent_transcript(demo_model):
    task = parse_task(demo_model.requests[-1].body["messages"])
    return task


async def test_all_scope_reads_every_course_chat_oldest_first(source, llm, demo_model):
    d = EmbeddedDialectic(llm, source, history_token_budget=6000)
    answer = await d.ask("u1", course(), query("all"), system="You grade essays.", task=course().task("grader"))
    assert answer.sessions_used == ("c-old", "c-mid", "c-new")
    task = sent_transcript(demo_model)
    assert task.system == "You grade essays."
    texts = [t for _, t in task.transcript]
    assert texts[0].startswith("I love writing") and texts[-1] == "Sure."
    assert not any("another course" in t or "Agent report" in t or "another student" in t for t in texts)
    assert "garden" in answer.text
    assert answer.usage is not None and answer.usage.total_tokens > 0


async def test_recent_scope_reads_the_last_n_chats(source, llm, demo_model):
    d = EmbeddedDialectic(llm, source)
    answer = await d.ask("u1", course(), query("recent", recent_limit=2), system="")
    assert answer.sessions_used == ("c-mid", "c-new")
    assert [t for _, t in sent_transcript(demo_model).transcript][0].startswith("My essay topic")


async def test_current_scope_reads_the_trigger_chat(source, llm, demo_model):
    d = EmbeddedDialectic(llm, source)
    answer = await d.ask("u1", course(), query("current"), system="", chat_id="c-old")
    assert answer.sessions_used == ("c-old",)
    answer = await d.ask("u1", course(), query("current"), system="")
    assert answer.sessions_used == ("c-new",)


async def test_specific_scope_reads_the_named_chats(source, llm, demo_model):
    d = EmbeddedDialectic(llm, source)
    answer = await d.ask("u1", course(), query("specific", sessions=["c-mid", "c-other", "c-u2"]), system="")
    assert answer.sessions_used == ("c-mid",)


async def test_budget_keeps_the_newest_messages_and_stops_reading(source, llm, demo_model):
    d = EmbeddedDialectic(llm, source, history_token_budget=30)
    answer = await d.ask("u1", course(), query("all"), system="")
    # Only the newest chat fits: the older ones are not even read.
    assert answer.sessions_used == ("c-new",)
    assert ("u1", "c-old") not in source.reads


async def test_no_chats_in_scope_means_no_llm_call(source, llm, demo_model):
    d = EmbeddedDialectic(llm, source)
    answer = await d.ask("nobody", course(), query("all"), system="")
    assert answer.text == "" and answer.sessions_used == ()
    assert demo_model.requests == []


async def test_llm_failures_become_dialectic_errors_with_transient_flag(source, llm, demo_model):
    d = EmbeddedDialectic(llm, source)
    demo_model.fail_next(1, status=503)
    with pytest.raises(DialecticError) as info:
        await d.ask("u1", course(), query("all"), system="")
    assert info.value.transient
    demo_model.fail_next(1, status=400)
    with pytest.raises(DialecticError) as info:
        await d.ask("u1", course(), query("all"), system="")
    assert not info.value.transient


async def test_a_source_failure_is_reported(source, llm):
    source.fail_next = 1
    with pytest.raises(DialecticError, match="could not read"):
        await EmbeddedDialectic(llm, source).ask("u1", course(), query("all"), system="")


async def test_earlier_decisions_take_at_most_a_quarter_of_the_budget_newest_first(source, llm, demo_model):
    from youlab_core.dialectic.budget import estimate_tokens
    from youlab_core.prompts import PastDecision

    from .fakes import T0

    decisions = [PastDecision("rejected", f"value {i}", "2026-11-02", "no") for i in range(20)]
    cost = estimate_tokens(decisions[0].sentence())
    d = EmbeddedDialectic(llm, source, history_token_budget=cost * 12)  # a quarter holds 3 decisions
    answer = await d.ask("u1", course(), query("all"), system="", decisions=decisions)
    task = sent_transcript(demo_model)
    assert task.decisions == [x.sentence() for x in decisions[:3]]
    assert "already decided" in demo_model.requests[-1].body["messages"][0]["content"]
    used = sum(estimate_tokens(t) for _, t in task.transcript)
    assert used <= cost * 9  # the transcript gets the rest of the budget
    assert answer.newest_message_at == T0.replace(minute=3, second=1)  # the newest message read
    plain = await d.ask("u1", course(), query("all"), system="")
    assert sent_transcript(demo_model).decisions == [] and plain.newest_message_at is None
