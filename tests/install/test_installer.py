"""`install()` against an in-memory stand-in for Open WebUI's REST API: the view models' records (one per view, not
per course), each listing its installed Actions, and records of an earlier install brought up to date.
(tests/e2e/test_install_e2e.py runs the same installer against a real Open WebUI.)"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from youlab_core.bundle.view_models import MEMORY_ACTION_ID, REVIEW_ACTION_ID, VIEW_MODELS
from youlab_core.install import InstallOptions, install

CONFIG = Path("config")


class FakeFunctions:
    def __init__(self) -> None:
        self.stored: dict[str, dict[str, Any]] = {}

    async def list(self) -> list[dict[str, Any]]:
        return [copy.deepcopy(f) for f in self.stored.values()]

    async def get(self, function_id: str) -> dict[str, Any] | None:
        return copy.deepcopy(self.stored.get(function_id))

    async def create(self, function_id: str, name: str, content: str, description: str = "") -> dict[str, Any]:
        kind = "filter" if "class Filter" in content else "pipe" if "class Pipe" in content else "action"
        self.stored[function_id] = {"id": function_id, "name": name, "content": content, "type": kind,
                                    "meta": {"description": description}, "is_active": False, "is_global": False}
        return copy.deepcopy(self.stored[function_id])

    async def update(self, function_id: str, name: str, content: str, description: str = "") -> dict[str, Any]:
        self.stored[function_id].update(name=name, content=content, meta={"description": description})
        return copy.deepcopy(self.stored[function_id])

    async def set_active(self, function_id: str, active: bool) -> dict[str, Any]:
        self.stored[function_id]["is_active"] = active
        return copy.deepcopy(self.stored[function_id])

    async def set_global(self, function_id: str, is_global: bool) -> dict[str, Any]:
        self.stored[function_id]["is_global"] = is_global
        return copy.deepcopy(self.stored[function_id])

    async def valves_spec(self, function_id: str) -> dict[str, Any] | None:
        return None  # no valves: the installer's valve step is tested in test_valves.py


class FakeModels:
    def __init__(self) -> None:
        self.stored: dict[str, dict[str, Any]] = {}
        self.writes: list[str] = []

    async def available(self, refresh: bool = False) -> list[dict[str, Any]]:
        return [{"id": "youlab-demo", "name": "Demo", "owned_by": "openai"}]

    async def records(self) -> list[dict[str, Any]]:
        return [copy.deepcopy(r) for r in self.stored.values()]

    async def get(self, model_id: str) -> dict[str, Any] | None:
        return copy.deepcopy(self.stored.get(model_id))

    async def create(self, form: dict[str, Any]) -> dict[str, Any]:
        self.stored[form["id"]] = copy.deepcopy({"access_grants": [], **form})
        self.writes.append(form["id"])
        return copy.deepcopy(self.stored[form["id"]])

    async def update(self, form: dict[str, Any]) -> dict[str, Any]:
        grants = self.stored[form["id"]].get("access_grants", [])
        self.stored[form["id"]] = {**copy.deepcopy(form), "access_grants": grants}
        self.writes.append(form["id"])
        return copy.deepcopy(self.stored[form["id"]])

    async def set_access(self, model_id: str, grants: list[dict[str, Any]], name: str | None = None) -> dict[str, Any]:
        self.stored.setdefault(model_id, {"id": model_id, "name": name or model_id, "meta": {}, "params": {}})
        self.stored[model_id]["access_grants"] = copy.deepcopy(grants)
        return copy.deepcopy(self.stored[model_id])


class FakeClient:
    def __init__(self) -> None:
        self.functions = FakeFunctions()
        self.models = FakeModels()


def plugins_without(tmp_path: Path, *left_out: str) -> Path:
    for plugin in Path("plugins").glob("*.py"):
        if plugin.stem not in left_out:
            (tmp_path / plugin.name).write_text(plugin.read_text())
    return tmp_path


async def test_each_view_gets_one_hidden_readable_record_listing_its_actions() -> None:
    client = FakeClient()
    report = await install(client, InstallOptions(config_dir=CONFIG))  # type: ignore[arg-type]
    assert {MEMORY_ACTION_ID, REVIEW_ACTION_ID} <= set(client.functions.stored)
    for view in VIEW_MODELS:
        record = client.models.stored[view.model_id]
        assert record["name"] == view.name and record["base_model_id"] is None
        assert record["meta"]["hidden"] is True and record["meta"]["actionIds"] == list(view.action_ids)
        assert {"principal_type": "user", "principal_id": "*", "permission": "read"} in record["access_grants"]
        assert report.models.count(view.model_id) == 1  # one record per view, whatever the number of courses
    agents = [r for r in client.models.stored.values() if (r["meta"].get("youlab") or {}).get("role") == "agent"]
    assert agents and all(r["meta"]["actionIds"] == [REVIEW_ACTION_ID] for r in agents)
    assert (await install(client, InstallOptions(config_dir=CONFIG))).changes == []  # type: ignore[arg-type]


async def test_a_view_lists_only_the_actions_that_are_installed(tmp_path: Path) -> None:
    client = FakeClient()
    await install(client, InstallOptions(config_dir=CONFIG, plugins_dir=plugins_without(tmp_path, MEMORY_ACTION_ID)))  # type: ignore[arg-type]
    memory = next(v for v in VIEW_MODELS if MEMORY_ACTION_ID in v.action_ids)
    assert client.models.stored[memory.model_id]["meta"]["actionIds"] == [REVIEW_ACTION_ID]


async def test_an_earlier_install_is_brought_up_to_date() -> None:
    """Before the view had its own model, agent records could list more Actions; they keep the review's alone, and
    what an admin added to a record stays."""
    client = FakeClient()
    await install(client, InstallOptions(config_dir=CONFIG))  # type: ignore[arg-type]
    agent_id = "youlab_agents.progression-grader"
    client.models.stored[agent_id]["meta"]["actionIds"] = [REVIEW_ACTION_ID, MEMORY_ACTION_ID]
    client.models.stored[agent_id]["meta"]["profile_image_url"] = "/static/admin-chose-this.png"
    view = VIEW_MODELS[0]
    del client.models.stored[view.model_id]
    report = await install(client, InstallOptions(config_dir=CONFIG))  # type: ignore[arg-type]
    assert f"model {agent_id}: updated (meta)" in report.changes and f"model {view.model_id}: created" in report.changes
    meta = client.models.stored[agent_id]["meta"]
    assert meta["actionIds"] == [REVIEW_ACTION_ID] and meta["profile_image_url"] == "/static/admin-chose-this.png"
