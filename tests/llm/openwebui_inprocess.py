"""Run by tests/llm/test_openwebui_inprocess.py in a child process (Open WebUI's import configures the whole process:
env, database, migrations). Prints one JSON object with what it observed."""

from __future__ import annotations

import asyncio
import json
import sys

from youlab_core.demo_model import DemoModelServer


async def observe(demo: DemoModelServer) -> dict:
    import open_webui.main as owui
    from open_webui.models.users import Users

    from youlab_core.llm import LLMError, OpenWebUILLM
    from youlab_core.llm.openwebui import build_request
    from youlab_core.prompts import merge_messages

    await Users.insert_new_user("u-student", "Student", "student@example.com", role="user")
    out: dict = {}
    # A request as a plugin would receive it while a student chats: metadata full of that chat's ids.
    triggering = build_request(owui.app, user_id="u-student", model_id="youlab-demo")
    triggering.state.metadata.update({"chat_id": "chat-of-the-student", "message_id": "m1", "session_id": "s1"})

    llm = OpenWebUILLM("youlab-demo", "u-student", app=triggering.app)
    completion = await llm.complete(merge_messages("notes", "", "A.", "B."), max_tokens=100)
    call = demo.calls("chat")[-1]
    out["text"] = completion.text
    out["usage"] = [completion.usage.prompt_tokens, completion.usage.completion_tokens] if completion.usage else None
    out["headers"] = call.headers
    out["body_keys"] = sorted(call.body)
    out["triggering_metadata_after"] = triggering.state.metadata
    for label, model, user in (("missing_user", "youlab-demo", "nobody"), ("missing_model", "gpt-nope", "u-student")):
        try:
            await OpenWebUILLM(model, user, app=owui.app).complete([{"role": "user", "content": "x"}])
            out[label] = "no error"
        except LLMError as exc:
            out[label] = {"message": str(exc), "transient": exc.transient}
    out["streamed"] = await stream_through_open_webui(owui.app)
    demo.fail_next(1, status=429, retry_after=3)
    try:
        await llm.complete([{"role": "user", "content": "x"}])
        out["rate_limited"] = "no error"
    except LLMError as exc:
        out["rate_limited"] = {"status": exc.status, "transient": exc.transient, "retry_after": exc.retry_after}
    return out


async def stream_through_open_webui(app) -> dict:
    """A streaming chat through Open WebUI's own completion path, as a student's chat would make it."""
    from open_webui.models.users import Users
    from open_webui.utils.chat import generate_chat_completion

    from youlab_core.llm.openwebui import build_request

    user = await Users.get_user_by_id("u-student")
    request = build_request(app, user_id="u-student", model_id="youlab-demo")
    form = {"model": "youlab-demo", "stream": True, "stream_options": {"include_usage": True},
            "messages": [{"role": "user", "content": "My essay is about robotics club"}]}
    response = await generate_chat_completion(request, form, user, bypass_filter=True)
    raw = b""
    async for chunk in response.body_iterator:
        raw += chunk if isinstance(chunk, bytes) else chunk.encode()
    text, usage = "", None
    for line in raw.decode().splitlines():
        if line.startswith("data: ") and line != "data: [DONE]":
            data = json.loads(line[len("data: "):])
            for choice in data.get("choices") or []:
                text += choice.get("delta", {}).get("content") or ""
            usage = data.get("usage") or usage
    return {"text": text, "usage": usage, "done": raw.decode().rstrip().endswith("data: [DONE]")}


def main() -> int:
    import os

    with DemoModelServer() as demo:
        os.environ["OPENAI_API_BASE_URLS"] = demo.base_url
        os.environ["OPENAI_API_KEYS"] = "demo-key"
        result = asyncio.run(observe(demo))
    sys.stdout.write("\nRESULT " + json.dumps(result) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
