"""youlab_core.openwebui.internals is the only module that imports Open WebUI, its INTERNALS list matches what it
uses and what its docstring names, and every listed internal exists in the installed Open WebUI."""

from __future__ import annotations

import ast
import importlib.metadata
import importlib.util
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from youlab_core.openwebui import internals

ROOT = Path(__file__).resolve().parents[2]
SEAM = ROOT / "youlab_core" / "openwebui" / "internals.py"
SCANNED = [ROOT / "youlab_core", ROOT / "plugins"]


def openwebui_imports(tree: ast.AST) -> list[tuple[int, str]]:
    """(line, module) of every import of open_webui in the tree, at any depth (also importlib.import_module)."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names if a.name.split(".")[0] == "open_webui"]
        elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "open_webui":
            found.append((node.lineno, str(node.module)))
        elif isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant):
            name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
            arg = node.args[0].value
            if name in ("import_module", "__import__") and isinstance(arg, str) and arg.split(".")[0] == "open_webui":
                found.append((node.lineno, arg))
    return found


def used_internals(tree: ast.AST) -> set[str]:
    """`module:Name` and `module:Name.attr` for every name the seam's functions import from open_webui and use."""
    used: set[str] = set()
    for func in ast.walk(tree):
        if not isinstance(func, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        bound = {alias.asname or alias.name: f"{node.module}:{alias.name}"
                 for node in ast.walk(func) if isinstance(node, ast.ImportFrom)
                 and (node.module or "").startswith("open_webui") for alias in node.names}
        attribute_bases = set()
        for node in ast.walk(func):
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in bound:
                used.add(f"{bound[node.value.id]}.{node.attr}")
                attribute_bases.add(id(node.value))
        for node in ast.walk(func):
            if isinstance(node, ast.Name) and node.id in bound and id(node) not in attribute_bases:
                used.add(bound[node.id])
    return used


def test_only_the_seam_imports_open_webui() -> None:
    offenders = []
    for base in SCANNED:
        for path in sorted(base.rglob("*.py")):
            if path == SEAM:
                continue
            for line, module in openwebui_imports(ast.parse(path.read_text(encoding="utf-8"))):
                offenders.append(f"{path.relative_to(ROOT)}:{line} imports {module}")
    assert offenders == [], "use youlab_core.openwebui.internals instead:\n" + "\n".join(offenders)


def test_the_scan_finds_each_kind_of_import() -> None:
    code = "import open_webui\ndef f():\n    from open_webui.models import chats\n    import importlib\n" \
           "    importlib.import_module('open_webui.main')\nimport open_webuix\n"
    assert openwebui_imports(ast.parse(code)) == [(1, "open_webui"), (3, "open_webui.models"), (5, "open_webui.main")]


def test_the_seam_imports_open_webui_only_inside_functions() -> None:
    tree = ast.parse(SEAM.read_text(encoding="utf-8"))
    top_level = [n for n in tree.body if isinstance(n, ast.Import | ast.ImportFrom)]
    assert openwebui_imports(ast.Module(body=top_level, type_ignores=[])) == []


def test_internals_lists_everything_the_seam_uses() -> None:
    used = used_internals(ast.parse(SEAM.read_text(encoding="utf-8")))
    assert "open_webui.models.chats:Chats.insert_new_chat" in used  # the scan sees method uses
    assert "open_webui.models.chats:ChatForm" in used  # and bare names
    assert sorted(used - set(internals.INTERNALS)) == []
    assert len(set(internals.INTERNALS)) == len(internals.INTERNALS)


def test_the_docstring_names_every_internal() -> None:
    doc = internals.__doc__ or ""
    assert internals.OPENWEBUI_VERSION in doc.splitlines()[0]
    sections = {line[2:].split(":", 1)[0]: line for line in doc.replace("\n  ", " ").splitlines()
                if line.startswith("- open_webui.")}
    missing = []
    for entry in internals.INTERNALS:
        module, path = entry.split(":")
        words = set(re.findall(r"\w+", sections.get(module, "")))
        if not set(path.split(".")) <= words:
            missing.append(entry)
    assert missing == []


def test_youlab_core_imports_without_loading_open_webui() -> None:
    modules = ["youlab_core.openwebui.internals", "youlab_core.bundle.agents", "youlab_core.bundle.groups",
               "youlab_core.bundle.parts", "youlab_core.bundle.valves", "youlab_core.dialectic.inprocess",
               "youlab_core.install.plugins", "youlab_core.llm.openwebui", "youlab_core.runner.build",
               "youlab_core.threads.openwebui"]
    code = f"import importlib, sys\nfor m in {modules!r}:\n    importlib.import_module(m)\n" \
           "print(sorted(m for m in sys.modules if m.split('.')[0] == 'open_webui'))"
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip() == "[]"


def test_plugin_content_is_rewritten_like_open_webui_does() -> None:
    source = "from utils.misc import x\nfrom config import y\nfrom youlab_core import z\n"
    assert internals.stored_plugin_content(source) == (
        "from open_webui.utils.misc import x\nfrom open_webui.config import y\nfrom youlab_core import z\n")


# Run in a child process: importing open_webui.main configures the whole process (environment, database, migrations).
CHECK = """
import importlib, json, sys
from pydantic import BaseModel
from youlab_core.openwebui import internals
missing = []
for entry in internals.INTERNALS:
    module, path = entry.split(":")
    try:
        obj = importlib.import_module(module)
    except Exception as exc:
        missing.append(f"{entry}: {type(exc).__name__}: {exc}")
        continue
    for part in path.split("."):
        if hasattr(obj, part):
            obj = getattr(obj, part)
        elif isinstance(obj, type) and issubclass(obj, BaseModel) and part in obj.model_fields:
            obj = obj.model_fields[part]
        else:
            missing.append(entry)
            break
from open_webui.utils.plugin import replace_imports
sample = "from utils.a import b\\nfrom apps.c import d\\nfrom main import app\\nfrom config import e\\nfrom x import y\\n"


async def seam():
    # The seam's own queries against Open WebUI's real tables (SQLite here; the e2e replicas run them on PostgreSQL).
    import asyncio
    from open_webui.models.users import Users
    await Users.insert_new_user("stu", "Student", "stu@example.com", role="admin")
    folder = await internals.insert_folder("stu", "Agent", {})
    for chat_id, meta in (("own", {}), ("thread", {"youlab": {"type": "background_agent"}}), ("inner", {"internal": True})):
        await internals.insert_chat(chat_id, "stu", {"title": chat_id, "models": ["m"]}, folder_id=folder.id, meta=meta)
    listed = sorted(r["id"] for r in await internals.user_chat_summaries("stu"))
    without = [r["id"] for r in await internals.user_chat_summaries("stu", without_meta_key="youlab")]
    archived = [await internals.archive_chat("thread"), await internals.archive_chat("thread"),
                await internals.archive_chat("nothing")]
    row = await internals.chat_row("thread")
    return {"listed": listed, "without": without, "archived": archived,
            "row": [bool(row.archived), row.folder_id, row.updated_at > 0]}


import asyncio
print("RESULT " + json.dumps({"missing": missing,
                              "same_rewrite": replace_imports(sample) == internals.stored_plugin_content(sample),
                              "seam": asyncio.run(seam())}))
"""


@pytest.fixture(scope="module")
def checked(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    if importlib.util.find_spec("open_webui") is None:
        pytest.skip("Open WebUI is not installed in this environment (scripts/test installs it)")
    data = tmp_path_factory.mktemp("owui")
    (data / "data").mkdir()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "DATA_DIR": str(data / "data"), "STATIC_DIR": str(data / "static"),
           "FROM_INIT_PY": "true", "WEBUI_SECRET_KEY": "test-secret-key", "OFFLINE_MODE": "true",
           "ENABLE_OLLAMA_API": "false", "RAG_EMBEDDING_ENGINE": "openai"}
    proc = subprocess.run([sys.executable, "-c", CHECK], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=240)
    lines = [line for line in proc.stdout.splitlines() if line.startswith("RESULT ")]
    assert proc.returncode == 0 and lines, proc.stderr[-3000:]
    return json.loads(lines[-1][len("RESULT "):])


def test_the_installed_open_webui_is_the_version_the_seam_was_written_for() -> None:
    if importlib.util.find_spec("open_webui") is None:
        pytest.skip("Open WebUI is not installed in this environment (scripts/test installs it)")
    assert importlib.metadata.version("open-webui") == internals.OPENWEBUI_VERSION


def test_every_listed_internal_exists_in_the_installed_open_webui(checked: dict[str, object]) -> None:
    assert checked["missing"] == []


def test_plugin_rewrites_match_open_webuis_replace_imports(checked: dict[str, object]) -> None:
    assert checked["same_rewrite"] is True


def test_the_chat_list_leaves_out_agent_threads_and_archiving_is_one_idempotent_update(checked: dict[str, object]) -> None:
    seam = checked["seam"]
    assert isinstance(seam, dict)
    assert seam["listed"] == ["own", "thread"]  # Open WebUI's internal chats are never listed
    assert seam["without"] == ["own"]  # what a run reads: no agent thread, however many runs there were
    assert seam["archived"] == [True, False, False]  # archived once; again, or a missing chat: nothing to do
    assert seam["row"] == [True, None, True]  # archived and out of its folder, as Open WebUI's own toggle leaves it
