import json

from youlab_core.demo_model import NOTHING_KNOWN_REPLY, reply_for
from youlab_core.prompts import dialectic_messages, merge_messages

TRANSCRIPT = [
    ("user", "Hi! I'm writing my college essay about my grandmother and her garden."),
    ("assistant", "Lovely. What did your grandmother teach you about soccer?"),
    ("user", "She taught me patience. I also play soccer on weekends."),
    ("user", "My biggest worry is that my essays sound generic."),
]


def ask(question: str, transcript=TRANSCRIPT) -> str:
    return reply_for(dialectic_messages("course system prompt", question, transcript))


def test_dialectic_answers_with_the_students_related_sentences():
    assert ask("What worries the student about their essays?") == "My biggest worry is that my essays sound generic."
    assert ask("Which sport does the student play?") == "I also play soccer on weekends."


def test_dialectic_ignores_the_assistants_sentences():
    # "soccer" appears in an assistant message too; only the student's own sentence may come back
    assert "Lovely" not in ask("soccer")


def test_dialectic_nothing_related():
    assert ask("What is their favourite food?") == NOTHING_KNOWN_REPLY
    assert ask("anything at all?", []) == NOTHING_KNOWN_REPLY


def test_dialectic_is_deterministic():
    answers = {ask("What is the essay topic and the worry?") for _ in range(5)}
    assert len(answers) == 1


def test_merge_adds_only_new_sentences():
    messages = merge_messages("notes", "", "Writes about grandmother.", "writes about grandmother! Plays soccer.")
    assert reply_for(messages) == "Writes about grandmother. Plays soccer."


def test_merge_nothing_new_keeps_current_value():
    assert reply_for(merge_messages("notes", "", "Plays soccer.", "Plays soccer.")) == "Plays soccer."


def test_merge_into_empty_and_into_a_list():
    assert reply_for(merge_messages("notes", "", "", "A. B.")) == "A. B."
    assert reply_for(merge_messages("notes", "", "- A\n- B", "C. A.")) == "- A\n- B\n- C."


def owui_task(template_tail: str, history: str) -> list[dict]:
    content = f"### Task:\nDo it.\n### Output:\n{template_tail}\n### Chat History:\n<chat_history>\n{history}\n</chat_history>"
    return [{"role": "user", "content": content}]


HISTORY = "USER: I want help with my essay about my grandmother's garden\nASSISTANT: Sure, tell me about the garden."


def test_openwebui_title_tags_followups_are_valid_json():
    title = json.loads(reply_for(owui_task('JSON format: { "title": "your concise title here" }', HISTORY)))
    assert title == {"title": "Essay Grandmother's Garden"}
    tags = json.loads(reply_for(owui_task('JSON format: { "tags": ["tag1", "tag2", "tag3"] }', HISTORY)))
    assert tags["tags"][0] == "General" and all(isinstance(t, str) for t in tags["tags"])
    follow = json.loads(reply_for(owui_task('JSON format: { "follow_ups": ["a", "b"] }', HISTORY)))
    assert len(follow["follow_ups"]) == 3 and all(isinstance(t, str) and t for t in follow["follow_ups"])
    assert json.loads(reply_for(owui_task('{ "queries": ["query1"] }', HISTORY))) == {"queries": []}


def _openwebui_default_templates() -> dict[str, str]:
    """Open WebUI's own default task templates, read from its installed config.py without importing it (importing
    open_webui.config has side effects: it reads env, creates a data dir, and exits without a secret key)."""
    import ast
    import importlib.util
    from pathlib import Path

    import pytest

    spec = importlib.util.find_spec("open_webui")
    if spec is None or not spec.submodule_search_locations:
        pytest.skip("Open WebUI is not installed in this environment")
    source = (Path(list(spec.submodule_search_locations)[0]) / "config.py").read_text()
    templates = {}
    for node in ast.parse(source).body:
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str):
            for target in node.targets:
                if isinstance(target, ast.Name) and target.id.endswith("_PROMPT_TEMPLATE"):
                    templates[target.id] = node.value.value
    return templates


def _fill(template: str, chat: list[dict]) -> str:
    # What open_webui.utils.task.replace_messages_variable does for {{MESSAGES:END:N}}: "ROLE: content" lines.
    import re

    def lines(match: re.Match) -> str:
        chosen = chat[-int(match.group(1)) :]
        return "\n".join(f"{m['role'].upper()}: {m['content']}" for m in chosen)

    return re.sub(r"\{\{MESSAGES:END:(\d+)\}\}", lines, template)


def test_openwebui_default_templates_are_recognised():
    templates = _openwebui_default_templates()
    chat = [
        {"role": "user", "content": "Can you help me brainstorm my essay about robotics club?"},
        {"role": "assistant", "content": "Of course. What happened at robotics club?"},
    ]
    for name, key in [
        ("DEFAULT_TITLE_GENERATION_PROMPT_TEMPLATE", "title"),
        ("DEFAULT_TAGS_GENERATION_PROMPT_TEMPLATE", "tags"),
        ("DEFAULT_FOLLOW_UP_GENERATION_PROMPT_TEMPLATE", "follow_ups"),
        ("DEFAULT_QUERY_GENERATION_PROMPT_TEMPLATE", "queries"),
        ("DEFAULT_AUTOCOMPLETE_GENERATION_PROMPT_TEMPLATE", "text"),
        ("DEFAULT_IMAGE_PROMPT_GENERATION_PROMPT_TEMPLATE", "prompt"),
    ]:
        prompt = _fill(templates[name], chat)
        assert "{{MESSAGES" not in prompt
        answer = json.loads(reply_for([{"role": "user", "content": prompt}]))
        assert isinstance(answer, dict) and key in answer, (name, answer)
    title = json.loads(reply_for([{"role": "user", "content": _fill(templates["DEFAULT_TITLE_GENERATION_PROMPT_TEMPLATE"], chat)}]))
    assert "Robotics" in title["title"]


def test_ordinary_chat_is_labelled_and_derived_from_the_message():
    reply = reply_for([{"role": "system", "content": "You are a tutor."}, {"role": "user", "content": "My essay is about robotics club"}])
    assert reply.startswith("[Offline demo model, not an LLM]")
    assert "robotics" in reply
    assert reply == reply_for([{"role": "user", "content": "My essay is about robotics club"}])


def test_ordinary_chat_without_content_words():
    assert "not with a language model" in reply_for([{"role": "user", "content": "hi"}])
    assert reply_for([{"role": "assistant", "content": "hello"}]).startswith("[Offline demo model")


def test_same_answers_in_processes_with_different_hash_seeds():
    import os
    import subprocess
    import sys

    code = (
        "from tests.demo_model.test_answers import TRANSCRIPT, ask;"
        "from youlab_core.demo_model import reply_for;"
        "print(repr([ask('essay grandmother soccer worry patience garden weekends'), ask('What sport?'),"
        " reply_for([{'role': 'user', 'content': 'robotics essay about my grandmother'}])]))"
    )
    outputs = set()
    for seed in ("1", "2", "3"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        outputs.add(subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                                   check=True).stdout)
    assert len(outputs) == 1
