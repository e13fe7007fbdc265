"""OpenWebUILLM inside a real Open WebUI 0.12.4 (imported in a child process, no HTTP server of its own), calling
the demo model through Open WebUI's own `generate_chat_completion`."""

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def observed(tmp_path_factory) -> dict:
    if importlib.util.find_spec("open_webui") is None:
        pytest.skip("Open WebUI is not installed in this environment (scripts/test installs it)")
    data = tmp_path_factory.mktemp("owui")
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "DATA_DIR": str(data / "data"),
        "STATIC_DIR": str(data / "static"),
        "FROM_INIT_PY": "true",
        "WEBUI_SECRET_KEY": "test-secret-key",
        "OFFLINE_MODE": "true",
        "ENABLE_OLLAMA_API": "false",
        "RAG_EMBEDDING_ENGINE": "openai",
        # Open WebUI would forward the chat id in a header if the call carried one: make that visible.
        "ENABLE_FORWARD_USER_INFO_HEADERS": "true",
    }
    (data / "data").mkdir()
    proc = subprocess.run(
        [sys.executable, "-m", "tests.llm.openwebui_inprocess"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=240,
    )
    lines = [line for line in proc.stdout.splitlines() if line.startswith("RESULT ")]
    assert proc.returncode == 0 and lines, proc.stderr[-3000:]
    return json.loads(lines[-1][len("RESULT "):])


def test_completion_through_open_webui(observed):
    assert observed["text"] == "A. B."
    prompt, completion = observed["usage"]
    assert prompt > 0 and completion > 0


def test_the_call_carries_no_chat_ids(observed):
    headers = {k.lower(): v for k, v in observed["headers"].items()}
    assert "x-openwebui-chat-id" not in headers
    assert headers.get("x-openwebui-user-id") == "u-student"  # forwarding is on, so this header proves it
    assert "metadata" not in observed["body_keys"]
    # the request the plugin received is left as it was
    assert observed["triggering_metadata_after"]["chat_id"] == "chat-of-the-student"


def test_errors_are_llm_errors(observed):
    assert "nobody" in observed["missing_user"]["message"] and not observed["missing_user"]["transient"]
    assert "gpt-nope" in observed["missing_model"]["message"] and not observed["missing_model"]["transient"]
    assert observed["rate_limited"] == {"status": 429, "transient": True, "retry_after": 3.0}


def test_open_webui_streams_the_demo_model(observed):
    from youlab_core.demo_model import reply_for

    streamed = observed["streamed"]
    assert streamed["text"] == reply_for([{"role": "user", "content": "My essay is about robotics club"}])
    assert streamed["done"] and streamed["usage"]["completion_tokens"] > 0
