"""The merge strategies, with a scripted test double of the LLM interface for llm_diff."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from youlab_core.config import FieldSpec, FieldType, MergeStrategy
from youlab_core.errors import ProposalRefused
from youlab_core.llm.base import LLM, ChatMessage, Completion, LLMError
from youlab_core.merge import MergeResult, merge_insight
from youlab_core.prompts import MergeTask, parse_task


class ScriptedLLM(LLM):
    """Answers with the given replies in order and records every request."""

    def __init__(self, *replies: str | Exception):
        self.replies = list(replies)
        self.requests: list[tuple[list[ChatMessage], float | None]] = []

    async def complete(self, messages, *, timeout=None, max_tokens=None, temperature=None) -> Completion:
        self.requests.append((messages, timeout))
        reply = self.replies.pop(0)
        if isinstance(reply, Exception):
            raise reply
        return Completion(reply, model="scripted")


def spec(ftype: str, **kwargs: object) -> FieldSpec:
    return FieldSpec(type=FieldType(ftype), **kwargs)


async def merge(strategy: str, field: FieldSpec, current: object, insight: str, llm: LLM | None = None) -> MergeResult | None:
    return await merge_insight(strategy, field, current, insight, llm=llm, field_name="f")


# ---- append ------------------------------------------------------------------------------------------------------------


async def test_append_adds_a_line_to_text() -> None:
    result = await merge("append", spec("string"), "Likes chess.", "  Wants to study biology. \n")
    assert result == MergeResult("Likes chess.\nWants to study biology.", MergeStrategy.append)
    assert (await merge("append", spec("string"), "", "First.")).value == "First."


async def test_append_of_nothing_or_of_what_is_there_proposes_nothing() -> None:
    assert await merge("append", spec("string"), "a\nb", "   ") is None
    assert await merge("append", spec("string"), "a\nb", "b") is None
    assert await merge("append", spec("list"), ["x"], "x") is None


async def test_append_past_a_lists_max_drops_the_oldest_visibly() -> None:
    result = await merge("append", spec("list", max=3), ["one", "two", "three"], "four")
    assert result is not None
    assert result.value == ["two", "three", "four"]
    assert result.dropped == ("one",)
    assert 'Dropped the oldest 1 item(s) to stay within the field\'s max of 3: "one"' == result.note


async def test_append_past_a_strings_max_drops_the_oldest_lines() -> None:
    result = await merge("append", spec("string", max=12), "aaaa\nbbbb", "cccc")
    assert result is not None and result.value == "bbbb\ncccc" and result.dropped == ("aaaa",)
    with pytest.raises(ProposalRefused, match="longer than the field's max of 12"):
        await merge("append", spec("string", max=12), "", "x" * 13)


@pytest.mark.parametrize("ftype", ["int", "float", "bool", "datetime"])
async def test_append_refuses_fields_that_are_not_text(ftype: str) -> None:
    with pytest.raises(ProposalRefused, match=f"is a {ftype}: append works on text and list fields only"):
        await merge("append", spec(ftype), None, "3")


# ---- replace -----------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ftype", "insight", "value"),
    [
        ("string", "  Stuck on the intro.  ", "Stuck on the intro."),
        ("int", "42", 42),
        ("int", " `1,200`. ", 1200),
        ("float", "3.5", 3.5),
        ("bool", "Yes", True),
        ("bool", "false", False),
        ("datetime", "2026-03-01", datetime(2026, 3, 1, tzinfo=timezone.utc)),
        ("datetime", "2026-03-01T09:00:00+02:00", datetime.fromisoformat("2026-03-01T09:00:00+02:00")),
        ("list", "- topic chosen\n- outline\n\n* first draft", ["topic chosen", "outline", "first draft"]),
        ("list", '["a", "b"]', ["a", "b"]),
    ],
)
async def test_replace_coerces_to_the_field_type(ftype: str, insight: str, value: object) -> None:
    result = await merge("replace", spec(ftype), None, insight)
    assert result is not None and result.value == value and type(result.value) is type(value)


@pytest.mark.parametrize(
    ("field", "insight", "reason"),
    [
        (spec("int"), "about three", "expected a whole number, got 'about three'"),
        (spec("int"), "4.5", "expected a whole number"),
        (spec("float"), "nan", "expected a number"),
        (spec("bool"), "maybe", "expected yes/no or true/false"),
        (spec("datetime"), "next Tuesday", "expected an ISO date"),
        (spec("int", max=10), "11", "more than the field's max of 10"),
        (spec("string", options=["a", "b"]), "c", "'c' is not one of a, b"),
        (spec("string", max=5), "too long", "more than the field's max of 5"),
    ],
)
async def test_replace_refuses_with_a_reason(field: FieldSpec, insight: str, reason: str) -> None:
    with pytest.raises(ProposalRefused, match="field 'f'") as info:
        await merge("replace", field, None, insight)
    assert reason in str(info.value)


async def test_replace_matches_options_case_insensitively_and_skips_no_ops() -> None:
    field = spec("string", options=["not_started", "in_progress", "completed"])
    assert (await merge("replace", field, "not_started", "In_Progress")).value == "in_progress"
    assert await merge("replace", field, "completed", "completed") is None
    assert await merge("replace", spec("int"), 3, "3") is None
    assert await merge("replace", spec("string"), "x", "") is None


async def test_replace_of_a_long_list_keeps_the_newest_visibly() -> None:
    result = await merge("replace", spec("list", max=2), [], "a\nb\nc")
    assert result is not None and result.value == ["b", "c"] and result.dropped == ("a",) and "max of 2" in result.note


# ---- llm_diff ----------------------------------------------------------------------------------------------------------


async def test_llm_diff_sends_description_current_value_and_insight_and_returns_the_merge() -> None:
    llm = ScriptedLLM("Open questions; short replies work best.\n")
    field = spec("string", description="What works with this student.")
    result = await merge_insight("llm_diff", field, "Open questions.", "Prefers short replies.", llm=llm,
                                 field_name="approach", timeout=7.5)
    assert result == MergeResult("Open questions; short replies work best.", MergeStrategy.llm_diff, model="scripted")
    messages, timeout = llm.requests[0]
    assert timeout == 7.5
    assert parse_task(messages) == MergeTask("approach", "What works with this student.", "Open questions.",
                                             "Prefers short replies.")


async def test_llm_diff_that_returns_nothing_or_the_same_proposes_nothing() -> None:
    assert await merge("llm_diff", spec("string"), "same", "x", ScriptedLLM("   ")) is None
    assert await merge("llm_diff", spec("string"), "same", "x", ScriptedLLM("same\n")) is None
    assert await merge("llm_diff", spec("string"), "same", "  ", ScriptedLLM()) is None  # no call for no insight


async def test_llm_diff_strips_a_code_fence_and_handles_lists() -> None:
    llm = ScriptedLLM("```\n- outline\n- first draft\n```")
    result = await merge("llm_diff", spec("list", max=5), ["outline"], "wrote a first draft", llm)
    assert result is not None and result.value == ["outline", "first draft"]
    sent = parse_task(llm.requests[0][0])
    assert isinstance(sent, MergeTask) and sent.current_value == "- outline"


async def test_llm_diff_needs_an_llm_and_passes_its_errors_up() -> None:
    with pytest.raises(ProposalRefused, match="no LLM is configured"):
        await merge("llm_diff", spec("string"), "", "x", None)
    with pytest.raises(LLMError):
        await merge("llm_diff", spec("string"), "", "x", ScriptedLLM(LLMError("429", transient=True)))
    with pytest.raises(ProposalRefused, match="expected a whole number"):
        await merge("llm_diff", spec("int"), 1, "x", ScriptedLLM("two"))
