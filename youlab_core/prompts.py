"""Every prompt the library sends to an LLM, built (and parsed back) in one place.

Each prompt's system and user message start with a marker line, `YOULAB-TASK: <kind>`, and carry their variable
parts as JSON values, one per line. A real LLM reads this harmlessly; the offline demo model (`youlab_core.demo_model`)
uses `parse_task` to recognise the request and answer it deterministically. JSON keeps the parsing unambiguous
whatever a student typed (a newline or a fake marker inside a message cannot break the structure).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field

from .llm.base import ChatMessage

MARKER = "YOULAB-TASK:"
DIALECTIC = "dialectic"
MERGE = "merge"

# Role names as they appear in a transcript. The student is the person the question is about.
STUDENT_ROLE = "user"

_DIALECTIC_INSTRUCTIONS = (
    "You answer one question about a student, using only what the student wrote in the chat messages given to you. "
    'Messages with role "user" are the student\'s own words; "assistant" messages are context only. '
    "Quote or paraphrase the student's relevant statements. If the messages say nothing relevant, reply with exactly "
    "NOTHING_KNOWN instead of guessing. Otherwise answer in a few plain sentences, without preamble."
)

# The dialectic's answer when the student's messages say nothing about the question. A fixed token, not a phrase,
# so that "nothing known" is never mistaken for an insight and proposed as a memory change.
NOTHING_KNOWN = "NOTHING_KNOWN"


def is_nothing_known(answer: str) -> bool:
    """Whether a dialectic answer says that nothing is known (the token, possibly quoted or followed by a reason)."""
    return answer.strip().strip("`\"'* ").startswith(NOTHING_KNOWN)

_MERGE_INSTRUCTIONS = (
    "You maintain one field of a student's memory. Merge the new insight into the field's current value: keep what "
    "is still true, add what is new, drop exact repetitions, and keep the field's style and brevity. "
    "Return ONLY the merged field text: no preamble, no quotes, no explanation."
)


_DECISIONS_INSTRUCTIONS = (
    "The student already decided on earlier answers to this question (listed with the question, newest first). "
    "Do not offer again what the student rejected or undid unless their newer messages clearly say it; take their "
    "notes into account."
)


@dataclass(frozen=True)
class PastDecision:
    """What the student decided on an earlier proposal for the same field: `status` is approved, rejected or undone
    (approved, then taken back); `on` its day (YYYY-MM-DD); `note` what the student wrote with it."""

    status: str
    value: str
    on: str
    note: str = ""

    def sentence(self) -> str:
        verb = {"approved": "approved", "rejected": "rejected", "undone": "approved and later undid"}.get(
            self.status, self.status)
        said = f", saying {json.dumps(self.note, ensure_ascii=False)}" if self.note.strip() else ""
        return f"the student {verb} {json.dumps(self.value, ensure_ascii=False)} on {self.on}{said}"


def decision_context(decisions: Sequence[PastDecision]) -> str:
    """The decisions as a paragraph to add to a question where no system prompt can carry them (Honcho)."""
    if not decisions:
        return ""
    lines = "\n".join(f"- {d.sentence()}" for d in decisions)
    return f"Context, the student's earlier decisions on answers to this question (newest first):\n{lines}"


@dataclass(frozen=True)
class DialecticTask:
    """A question about the student, and the transcript to answer it from: (role, text) pairs, oldest first.
    `decisions` are the student's earlier decisions on the field, as sentences, newest first."""

    system: str
    question: str
    transcript: list[tuple[str, str]]
    decisions: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class MergeTask:
    field_name: str
    field_description: str
    current_value: str
    insight: str


def _header(kind: str) -> str:
    return f"{MARKER} {kind}"


def dialectic_messages(system: str, question: str, transcript: Sequence[tuple[str, str]],
                       decisions: Sequence[PastDecision] = ()) -> list[ChatMessage]:
    """Messages asking an LLM to answer `question` about the student from their own messages.

    `system` is the task's own system prompt (may be empty); `transcript` is (role, text) pairs, oldest first, with
    role "user" for the student and "assistant" for the tutor; `decisions` what the student decided on earlier
    answers for the same field, newest first (the caller fits them into its token budget).
    """
    system_text = f"{_header(DIALECTIC)}\n{_DIALECTIC_INSTRUCTIONS}"
    if decisions:
        system_text += f" {_DECISIONS_INSTRUCTIONS}"
    if system.strip():
        system_text += f"\n\nInstructions from the course:\n{system.strip()}"
    lines = [_header(DIALECTIC), f"question: {json.dumps(question, ensure_ascii=False)}"]
    if decisions:
        lines.append(f"earlier_decisions: {len(decisions)}, newest first, one JSON string per line:")
        lines += [json.dumps(d.sentence(), ensure_ascii=False) for d in decisions]
    lines.append(f"transcript: {len(transcript)} messages, oldest first, one JSON object per line:")
    for role, text in transcript:
        lines.append(json.dumps({"role": role, "text": text}, ensure_ascii=False))
    if not transcript:
        lines.append("(no messages)")
    return [
        {"role": "system", "content": system_text},
        {"role": "user", "content": "\n".join(lines)},
    ]


def merge_messages(field_name: str, field_description: str, current_value: str, insight: str) -> list[ChatMessage]:
    """Messages asking an LLM to merge `insight` into a field's current value and return the merged text only."""
    lines = [
        _header(MERGE),
        f"field: {json.dumps(field_name, ensure_ascii=False)}",
        f"field_description: {json.dumps(field_description, ensure_ascii=False)}",
        f"current_value: {json.dumps(current_value, ensure_ascii=False)}",
        f"insight: {json.dumps(insight, ensure_ascii=False)}",
        "Reply with the merged field text only.",
    ]
    return [
        {"role": "system", "content": f"{_header(MERGE)}\n{_MERGE_INSTRUCTIONS}"},
        {"role": "user", "content": "\n".join(lines)},
    ]


def task_kind(messages: Sequence[dict]) -> str | None:
    """The `YOULAB-TASK` kind of the last user message, or None for any other conversation."""
    for message in reversed(messages):
        if message.get("role") == "user":
            first = _text(message.get("content")).split("\n", 1)[0].strip()
            if first.startswith(MARKER):
                return first[len(MARKER) :].strip() or None
            return None
    return None


def parse_task(messages: Sequence[dict]) -> DialecticTask | MergeTask | None:
    """Recover what `dialectic_messages` / `merge_messages` encoded; None if the messages are not ours or damaged."""
    kind = task_kind(messages)
    if kind is None:
        return None
    user = next(_text(m.get("content")) for m in reversed(messages) if m.get("role") == "user")
    lines = user.split("\n")[1:]
    try:
        if kind == DIALECTIC:
            return _parse_dialectic(messages, lines)
        if kind == MERGE:
            return _parse_merge(lines)
    except (ValueError, KeyError, TypeError, IndexError):
        return None
    return None


def _parse_dialectic(messages: Sequence[dict], lines: list[str]) -> DialecticTask:
    question = _value(lines, "question")
    transcript: list[tuple[str, str]] = []
    start = next(i for i, line in enumerate(lines) if line.startswith("transcript:")) + 1
    decisions: list[str] = []
    for i, line in enumerate(lines[:start]):
        if line.startswith("earlier_decisions:"):
            decisions = [str(json.loads(d)) for d in lines[i + 1 : start - 1]]
    for line in lines[start:]:
        if line.startswith("{"):
            item = json.loads(line)
            transcript.append((str(item["role"]), str(item["text"])))
    system = ""
    for message in messages:
        if message.get("role") == "system":
            text = _text(message.get("content"))
            marker = "Instructions from the course:\n"
            if text.startswith(_header(DIALECTIC)) and marker in text:
                system = text.split(marker, 1)[1]
            break
    return DialecticTask(system=system, question=question, transcript=transcript, decisions=decisions)


def _parse_merge(lines: list[str]) -> MergeTask:
    return MergeTask(
        field_name=_value(lines, "field"),
        field_description=_value(lines, "field_description"),
        current_value=_value(lines, "current_value"),
        insight=_value(lines, "insight"),
    )


def _value(lines: list[str], key: str) -> str:
    prefix = f"{key}: "
    for line in lines:
        if line.startswith(prefix):
            value = json.loads(line[len(prefix) :])
            if not isinstance(value, str):
                raise TypeError(f"{key} is not a string")
            return value
    raise KeyError(key)


def _text(content: object) -> str:
    """Message content as text: OpenAI allows a string or a list of parts ({"type": "text", "text": ...})."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(str(p.get("text", "")) for p in content if isinstance(p, dict) and p.get("type") == "text")
    return ""
