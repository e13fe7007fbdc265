"""`youlab install` and the login scripts/run sets up, against the real Open WebUI of the session."""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Any

import pytest

from tests.support.openwebui_stack import OpenWebUIHandle
from youlab_core.install import PLUGIN_IDS, load_plugins
from youlab_core.openwebui import OpenWebUIClient, OpenWebUIError, SyncOpenWebUIClient

OURS = set(PLUGIN_IDS)


def snapshot(api: SyncOpenWebUIClient) -> dict[str, Any]:
    """Everything the installer writes, as stored in Open WebUI."""
    functions = {f["id"]: f for f in api.functions.list() if f["id"] in OURS}
    return {
        "functions": {
            fid: {
                "name": f["name"],
                "type": f["type"],
                "active": f["is_active"],
                "global": f["is_global"],
                "meta": f["meta"],
                "updated_at": f["updated_at"],
                "content": api.functions.get(fid)["content"],
                "valves": api.functions.get_valves(fid),
            }
            for fid, f in functions.items()
        },
        "models": {
            r["id"]: {k: r.get(k) for k in ("name", "base_model_id", "meta", "params", "updated_at", "is_active")}
            | {"grants": sorted((g["principal_type"], g["principal_id"], g["permission"]) for g in r["access_grants"])}
            for r in api.models.records()
        },
    }


def test_the_admin_login_works(openwebui: OpenWebUIHandle) -> None:
    with SyncOpenWebUIClient(openwebui.url) as client:
        user = client.sign_in(openwebui.admin_email, openwebui.admin_password)
        assert user["role"] == "admin"
        assert client.me()["email"] == openwebui.admin_email
        with pytest.raises(OpenWebUIError) as wrong:
            client.sign_in(openwebui.admin_email, "not-the-password")
        assert wrong.value.status in (400, 401, 403)


def test_first_install_put_everything_in_place(openwebui: OpenWebUIHandle) -> None:
    shipped = {p.id for p in load_plugins()}
    assert shipped, "no plugin files in plugins/"
    state = snapshot(openwebui.api)
    assert set(state["functions"]) == shipped
    for fid, f in state["functions"].items():
        assert f["active"], fid
        assert f["global"] == (f["type"] == "filter"), fid
    if "youlab_filter" in state["functions"]:
        valves = state["functions"]["youlab_filter"]["valves"]
        assert valves["config_dir"] == str(openwebui.config_dir)
        assert valves["storage_root"] == str(openwebui.storage_root)
    tutor = state["models"][openwebui.tutor_model]
    assert tutor["base_model_id"] == "youlab-demo"
    assert tutor["params"]["system"].startswith("You are a warm, direct college-essay coach")
    assert ("user", "*", "read") in tutor["grants"]
    for task in ("progression-grader", "milestone-tracker"):
        agent = state["models"][f"youlab_agents.{task}"]
        assert agent["base_model_id"] is None
        assert agent["meta"]["hidden"] is True
        assert agent["meta"]["description"]
        if "youlab_review" in shipped:
            assert agent["meta"]["actionIds"] == ["youlab_review"]


def test_install_twice_changes_nothing(openwebui: OpenWebUIHandle) -> None:
    before = snapshot(openwebui.api)
    report = openwebui.install()
    assert report.changes == []
    assert snapshot(openwebui.api) == before


def test_install_repairs_what_drifted(openwebui: OpenWebUIHandle) -> None:
    api = openwebui.api
    api.functions.set_active("youlab_agents", False)
    api.functions.set_global("youlab_filter", False)
    tutor = api.models.get(openwebui.tutor_model)
    api.models.update({**tutor, "name": "Renamed by hand"})
    report = openwebui.install()
    assert set(report.changes) >= {
        "function youlab_agents: activated",
        "function youlab_filter: made global",
        f"model {openwebui.tutor_model}: updated (name)",
    }
    assert api.functions.get("youlab_agents")["is_active"]
    assert api.functions.get("youlab_filter")["is_global"]
    assert api.models.get(openwebui.tutor_model)["name"] == "College Essay Coach"
    assert openwebui.install().changes == []


def test_install_never_calls_functions_sync(openwebui: OpenWebUIHandle) -> None:
    # Another admin's function must survive the installer (functions/sync would delete it).
    other = '"""\ntitle: Someone else\n"""\nclass Filter:\n    def inlet(self, body):\n        return body\n'
    if openwebui.api.functions.get("someone_elses_filter") is None:
        openwebui.api.functions.create("someone_elses_filter", "Someone else", other, "not ours")
    openwebui.install()
    assert openwebui.api.functions.get("someone_elses_filter") is not None
    assert "/api/v1/functions/sync" not in openwebui.log_text()
    assert "/api/v1/functions/create" in openwebui.log_text()  # the log does record the installer's calls
    with pytest.raises(ValueError, match="deletes every function"):
        openwebui.run(lambda c: c.request("POST", "/api/v1/functions/sync", json={"functions": []}))


def test_install_cli_is_idempotent_and_hides_secret_valves(openwebui: OpenWebUIHandle) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("YOULAB_VALVE_")}
    base = [sys.executable, "-m", "youlab_core", "install", "--url", openwebui.url,
            # One argument: a password may begin with "-" (token_urlsafe makes such), which argparse takes for a flag.
            "--email", openwebui.admin_email, f"--password={openwebui.admin_password}",
            "--config-dir", str(openwebui.config_dir),
            "--valve", f"config_dir={openwebui.config_dir}", "--valve", f"storage_root={openwebui.storage_root}"]
    secret = "sk-never-print-me-123"
    done = subprocess.run(base + ["--valve", f"youlab_filter.honcho_api_key={secret}"],
                          capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "honcho_api_key=(hidden)" in done.stdout
    assert secret not in done.stdout + done.stderr
    assert openwebui.api.functions.get_valves("youlab_filter")["honcho_api_key"] == secret
    # Put it back, then a second run with the same flags reports no changes.
    back = subprocess.run(base + ["--valve", "youlab_filter.honcho_api_key="], capture_output=True, text=True,
                          env=env, timeout=120)
    assert back.returncode == 0, back.stderr
    again = subprocess.run(base + ["--valve", "youlab_filter.honcho_api_key="], capture_output=True, text=True,
                           env=env, timeout=120)
    assert again.returncode == 0, again.stderr
    assert "no changes" in again.stdout


def test_install_cli_refuses_unknown_valves_and_non_admins(openwebui: OpenWebUIHandle) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("YOULAB_VALVE_")}
    unknown = subprocess.run(
        [sys.executable, "-m", "youlab_core", "install", "--url", openwebui.url, "--api-key", openwebui.admin_token,
         "--config-dir", str(openwebui.config_dir), "--valve", "no_such_valve=1"],
        capture_output=True, text=True, env=env, timeout=120,
    )
    assert unknown.returncode == 2
    assert "no_such_valve" in unknown.stderr
    _, token = openwebui.make_student("Not An Admin")
    refused = subprocess.run(
        [sys.executable, "-m", "youlab_core", "install", "--url", openwebui.url, "--api-key", token,
         "--config-dir", str(openwebui.config_dir)],
        capture_output=True, text=True, env=env, timeout=120,
    )
    assert refused.returncode == 2
    assert "HTTP 401" in refused.stderr or "HTTP 403" in refused.stderr


async def test_a_student_sees_the_tutor_and_the_demo_model_answers(openwebui: OpenWebUIHandle) -> None:
    student, token = openwebui.make_student("Ada Student")
    assert student["role"] == "user"
    async with OpenWebUIClient(openwebui.url, token=token) as client:
        models = {m["id"]: m for m in await client.models.available()}
        assert openwebui.tutor_model in models
        assert "youlab-demo" in models  # 0.12.4 checks read access on the base model as well
        assert models["youlab-demo"]["info"]["meta"]["hidden"] is True  # usable behind the tutor, not listed
        before = len(openwebui.demo.requests)
        reply = await client.chat_completion(
            {"model": openwebui.tutor_model, "messages": [{"role": "user", "content": "Hello, can you help me?"}]}
        )
    text = reply["choices"][0]["message"]["content"]
    assert text.strip()
    calls = [r for r in openwebui.demo.requests[before:] if r.path.endswith("/chat/completions")]
    assert calls, "the demo model received no chat completion"
    sent = calls[-1].body or {}
    assert sent.get("model") == "youlab-demo"
    system = [m for m in sent.get("messages", []) if m.get("role") == "system"]
    assert system and "college-essay coach" in system[0]["content"]
