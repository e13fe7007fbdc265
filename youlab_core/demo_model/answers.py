"""The demo model's answers: a pure function from chat messages to reply text.

It recognises four kinds of request: YouLab's own prompts (`youlab_core.prompts`: dialectic and merge), Open WebUI's
background task prompts (title, tags, follow-ups, search queries...), and ordinary chat. Every answer is derived
from the input alone, so the same messages always give the same reply.
"""

from __future__ import annotations

import json
import re
import zlib
from collections.abc import Sequence

from .. import prompts
from ..prompts import STUDENT_ROLE, DialecticTask, MergeTask, parse_task
from ..prompts import _text as message_text
from .scoring import related_sentences, sentence_key, split_sentences, top_keywords

NOTHING_KNOWN_REPLY = f"{prompts.NOTHING_KNOWN}: nothing the student has written so far relates to this question."
DEMO_LABEL = "[Offline demo model, not an LLM]"
MAX_DIALECTIC_SENTENCES = 3


def reply_for(messages: Sequence[dict]) -> str:
    """The demo model's deterministic reply to `messages` (OpenAI chat format)."""
    task = parse_task(messages)
    if isinstance(task, DialecticTask):
        return dialectic_answer(task)
    if isinstance(task, MergeTask):
        return merge_answer(task)
    last_user = _last_user_text(messages)
    owui = openwebui_task_answer(last_user)
    if owui is not None:
        return owui
    return coaching_reply(last_user)


def dialectic_answer(task: DialecticTask) -> str:
    """The student's own sentences most related to the question, or a plain 'not known yet'."""
    student_texts = [text for role, text in task.transcript if role == STUDENT_ROLE]
    return answer_from_texts(task.question, student_texts)


def answer_from_texts(question: str, texts: Sequence[str]) -> str:
    sentences = related_sentences(question, texts, limit=MAX_DIALECTIC_SENTENCES)
    return " ".join(sentences) if sentences else NOTHING_KNOWN_REPLY


def merge_answer(task: MergeTask) -> str:
    """The current value followed by the insight's sentences that are not already in it."""
    current = task.current_value.strip()
    known = {sentence_key(s) for s in split_sentences(current)}
    new: list[str] = []
    for sentence in split_sentences(task.insight):
        key = sentence_key(sentence)
        if key and key not in known:
            known.add(key)
            new.append(sentence)
    if not current:
        return " ".join(new)
    if not new:
        return current
    if "\n" in current:  # a list-like field: one statement per line
        bullet = "- " if current.lstrip().startswith("- ") else ""
        return current + "\n" + "\n".join(bullet + s for s in new)
    return current + " " + " ".join(new)


# --- Open WebUI's background tasks -----------------------------------------------------------------------------
# Its prompt templates (open_webui/config.py, DEFAULT_*_PROMPT_TEMPLATE) start with "### Task:" and embed the chat as
# "USER: ..." / "ASSISTANT: ..." lines inside <chat_history>; each asks for one JSON object with a known key.

_HISTORY = re.compile(r"<chat_history>\n?(.*?)\n?</chat_history>", re.S)
_HISTORY_LINE = re.compile(r"^(USER|ASSISTANT|SYSTEM): ?", re.M)


def openwebui_task_answer(prompt: str) -> str | None:
    if "Your task is to reflect the speaker's likely facial expression" in prompt:
        return "🙂"
    if not prompt.lstrip().startswith("### Task:"):
        return None
    user_lines = _history_user_texts(prompt)
    keywords = top_keywords(user_lines or [prompt], limit=3)
    if '"title"' in prompt:
        title = " ".join(w.capitalize() for w in keywords[:3]) or "Demo Chat"
        return json.dumps({"title": title})
    if '"tags"' in prompt:
        return json.dumps({"tags": ["General", *(w.capitalize() for w in keywords[:2])]})
    if '"follow_ups"' in prompt:
        topic = keywords[0] if keywords else "this"
        return json.dumps(
            {
                "follow_ups": [
                    f"Can you give me one concrete example about {topic}?",
                    f"What should I do next with {topic}?",
                    "Summarize what we have discussed so far.",
                ]
            }
        )
    if '"queries"' in prompt:
        return json.dumps({"queries": []})  # offline: never suggest a web search
    if '"tool_calls"' in prompt:
        return json.dumps({"tool_calls": []})
    if '"prompt"' in prompt:
        return json.dumps({"prompt": " ".join(user_lines[-1:]) or "A simple illustration."})
    if '"text"' in prompt:
        return json.dumps({"text": ""})
    return None


def _history_user_texts(prompt: str) -> list[str]:
    match = _HISTORY.search(prompt)
    if not match:
        return []
    parts = _HISTORY_LINE.split(match.group(1))
    # split() yields ["", "USER", "text", "ASSISTANT", "text", ...]
    return [parts[i + 1].strip() for i in range(1, len(parts) - 1, 2) if parts[i] == "USER"]


# --- Ordinary chat ------------------------------------------------------------------------------------------------

_COACHING_QUESTIONS = (
    "What is one specific moment involving {topic} that shows who you are?",
    "Why does {topic} matter to you, in one sentence a stranger would understand?",
    "What changed for you because of {topic}, and what did you do about it?",
    "If a reader remembered one detail about {topic}, which detail should it be?",
)


def coaching_reply(user_text: str) -> str:
    """A short coaching reply built from the user's message by fixed rules, labelled as not coming from an LLM."""
    keywords = top_keywords([user_text], limit=2)
    if not user_text.strip() or not keywords:
        return (
            f"{DEMO_LABEL} I answer by simple rules, not with a language model. Tell me what you are working on "
            "(for example, the topic of your essay) and I will ask you a coaching question about it."
        )
    topic = " and ".join(keywords)
    question = _COACHING_QUESTIONS[zlib.crc32(user_text.encode()) % len(_COACHING_QUESTIONS)]
    return (
        f"{DEMO_LABEL} You wrote about {topic}. {question.format(topic=topic)} "
        "Try answering in three sentences with one concrete detail."
    )


def _last_user_text(messages: Sequence[dict]) -> str:
    for message in reversed(messages):
        if message.get("role") == "user":
            return message_text(message.get("content"))
    return ""
