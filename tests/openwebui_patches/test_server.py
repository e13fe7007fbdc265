"""The server part: the write-guard block appended to a private copy of the installed Open WebUI 0.12.4's main.py."""

from __future__ import annotations

import ast
import importlib.util
import json
import logging
import py_compile
import sys
import threading
import types
from collections.abc import Callable
from importlib.machinery import SourceFileLoader
from pathlib import Path

import pytest

import openwebui_patches
from openwebui_patches import PatchConflict, PatchState, UnsupportedOpenWebUI, server
from openwebui_patches.assets import sha256

from .conftest import copy_open_webui, snapshot

GUARD_NAME = "_youlab_install_write_guard"


def _module_names(tree: ast.Module) -> dict[str, int]:
    """Module-level name -> index of the first top-level statement that assigns it."""
    names: dict[str, int] = {}
    for index, node in enumerate(tree.body):
        if isinstance(node, ast.Assign):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    names.setdefault(target.id, index)
    return names


def test_fresh_copy_is_not_applied(package: Path) -> None:
    result = server.status(package)
    assert result.state is PatchState.NOT_APPLIED and result.supported and result.version == "0.12.4"
    assert result.describe().startswith("server write guard (youlab-write-guard): not applied in ")


def test_apply_appends_a_block_that_compiles_and_installs_the_guard_on_app(package: Path, main_py: Path) -> None:
    original = main_py.read_bytes()
    result = server.apply(package)
    assert result.state is PatchState.APPLIED and result.changed, result.describe()
    data = main_py.read_bytes()
    assert data.startswith(original) and data.endswith(server.guard_block())
    tree = ast.parse(data)
    compile(tree, str(main_py), "exec")  # the whole patched file is valid Python
    block = tree.body[-1]  # the very last statement: after every route and mount of the module
    assert isinstance(block, ast.Try)
    imported = block.body[0]
    assert isinstance(imported, ast.ImportFrom) and imported.module == "youlab_core.bundle.write_guard"
    assert [(a.name, a.asname) for a in imported.names] == [("install_write_guard", GUARD_NAME)]
    handler = block.handlers[0]
    assert isinstance(handler.type, ast.Name) and handler.type.id == "ImportError"
    assert ast.unparse(handler.body[0]).startswith("log.error(")
    assert [ast.unparse(s) for s in block.orelse] == [f"{GUARD_NAME}(app)"]
    # `app` and `log` are module-level names assigned before the block runs.
    names = _module_names(tree)
    assert names["app"] < len(tree.body) - 1 and names["log"] < names["app"]
    assert ast.unparse(tree.body[names["app"]]).startswith("app = FastAPI(")


def test_the_block_calls_install_write_guard_with_the_app(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[object] = []
    stub = types.ModuleType("youlab_core.bundle.write_guard")
    setattr(stub, "install_write_guard", calls.append)
    monkeypatch.setitem(sys.modules, "youlab_core.bundle.write_guard", stub)
    app = object()
    exec(compile(server.guard_block(), "main.py", "exec"), {"app": app, "log": logging.getLogger("t")})
    assert calls == [app]


def test_without_youlab_the_block_logs_an_error_and_open_webui_starts(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setitem(sys.modules, "youlab_core.bundle.write_guard", None)  # what an uninstalled module raises
    with caplog.at_level(logging.ERROR, logger="main"):
        exec(compile(server.guard_block(), "main.py", "exec"), {"app": object(), "log": logging.getLogger("main")})
    assert "write guard is not loaded" in caplog.text and "not protected" in caplog.text


def test_apply_twice_changes_nothing(package: Path) -> None:
    server.apply(package)
    before = snapshot(package)
    result = server.apply(package)
    assert result.state is PatchState.APPLIED and not result.changed
    assert snapshot(package) == before  # same bytes, modes and modification times: nothing rewritten


def test_revert_restores_main_py_byte_for_byte(package: Path, main_py: Path) -> None:
    main_py.chmod(0o640)
    before = snapshot(package)
    server.apply(package)
    assert snapshot(package) != before
    result = server.revert(package)
    assert result.state is PatchState.NOT_APPLIED and result.changed
    assert snapshot(package) == before  # bytes, mode and mtime; the state folder is gone too
    assert not (package / ".youlab-patch").exists()


def test_python_recompiles_main_py_after_apply_and_revert(main_py: Path, package: Path) -> None:
    """A __pycache__/main.*.pyc of the original (as pip leaves it) never hides the block, nor outlives a revert."""
    cached = Path(importlib.util.cache_from_source(str(main_py)))
    py_compile.compile(str(main_py), cfile=str(cached), invalidation_mode=py_compile.PycInvalidationMode.TIMESTAMP)

    def names() -> set[str]:
        code = SourceFileLoader("open_webui.main", str(main_py)).get_code("open_webui.main")
        assert code is not None
        return set(code.co_names)

    assert GUARD_NAME not in names()
    server.apply(package)
    assert GUARD_NAME in names()
    server.revert(package)
    assert GUARD_NAME not in names()


def test_unknown_version_is_refused_and_nothing_is_written(tmp_path: Path) -> None:
    package = copy_open_webui(tmp_path, version="0.13.0")
    before = snapshot(tmp_path)
    with pytest.raises(UnsupportedOpenWebUI, match=r"0\.13\.0.*0\.12\.4.*refusing"):
        server.apply(package)
    assert snapshot(tmp_path) == before
    result = server.status(package)
    assert result.state is PatchState.NOT_APPLIED and not result.supported


def test_a_main_py_without_app_is_refused(package: Path, main_py: Path) -> None:
    main_py.write_bytes(main_py.read_bytes().replace(b"\napp = FastAPI(", b"\napplication = FastAPI("))
    with pytest.raises(UnsupportedOpenWebUI, match="app = FastAPI"):
        server.apply(package)


def test_a_package_without_main_py_is_a_clear_error(package: Path, main_py: Path) -> None:
    main_py.unlink()
    with pytest.raises(openwebui_patches.OpenWebUINotFound, match="main.py is missing"):
        server.status(package)


def test_an_edited_main_py_is_modified_and_kept(package: Path, main_py: Path) -> None:
    server.apply(package)
    edited = b"# an admin's fix\n" + main_py.read_bytes()
    main_py.write_bytes(edited)
    result = server.status(package)
    assert result.state is PatchState.MODIFIED and any("changed" in d for d in result.details)
    with pytest.raises(PatchConflict, match="main.py changed"):
        server.apply(package)
    with pytest.raises(PatchConflict, match="main.py changed"):
        server.revert(package)
    assert main_py.read_bytes() == edited
    # --force keeps the edit, as the new original.
    assert server.apply(package, force=True).state is PatchState.APPLIED
    assert main_py.read_bytes() == edited
    server.revert(package)
    assert main_py.read_bytes() == server.strip_block(edited)


def test_forced_revert_restores_the_original_after_an_edit(package: Path, main_py: Path) -> None:
    original = main_py.read_bytes()
    server.apply(package)
    main_py.write_bytes(b"# replaced\n")
    server.revert(package, force=True)
    assert main_py.read_bytes() == original


def test_reinstalled_open_webui_is_reported_and_apply_repairs_it(package: Path, main_py: Path) -> None:
    original = main_py.read_bytes()
    server.apply(package)
    main_py.write_bytes(original)  # what `pip install --force-reinstall open-webui` leaves behind
    result = server.status(package)
    assert result.state is PatchState.NOT_APPLIED and any("original again" in d for d in result.details)
    assert server.apply(package).state is PatchState.APPLIED


def test_a_block_from_an_earlier_version_is_outdated_and_apply_updates_it(package: Path, main_py: Path) -> None:
    original = main_py.read_bytes()
    server.apply(package)
    older = original + server.BLOCK_BEGIN + b"\nimport youlab_core  # an earlier block\n" + server.BLOCK_END
    main_py.write_bytes(older)
    manifest_path = package / ".youlab-patch" / "server" / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    manifest["files"]["main.py"]["written_sha256"].insert(0, sha256(older))
    manifest_path.write_text(json.dumps(manifest))
    assert server.status(package).state is PatchState.OUTDATED
    assert server.apply(package).state is PatchState.APPLIED
    assert main_py.read_bytes() == server.patched(original)


def test_a_block_without_a_manifest_needs_force(package: Path, main_py: Path) -> None:
    original = main_py.read_bytes()
    server.apply(package)
    (package / ".youlab-patch" / "server" / "manifest.json").unlink()
    assert server.status(package).state is PatchState.MODIFIED
    with pytest.raises(PatchConflict, match="no manifest"):
        server.apply(package)
    with pytest.raises(PatchConflict, match="no manifest"):
        server.revert(package)
    assert server.apply(package, force=True).state is PatchState.APPLIED
    server.revert(package)  # the original was recovered from the patched file
    assert main_py.read_bytes() == original


def test_forced_revert_without_a_manifest_removes_the_block(package: Path, main_py: Path) -> None:
    original = main_py.read_bytes()
    server.apply(package)
    (package / ".youlab-patch" / "server" / "manifest.json").unlink()
    assert server.revert(package, force=True).state is PatchState.NOT_APPLIED
    assert main_py.read_bytes() == original


def test_the_two_parts_keep_separate_state(package: Path) -> None:
    before = snapshot(package)
    openwebui_patches.apply(package)
    frontend_manifest = (package / ".youlab-patch" / "manifest.json").read_bytes()
    server.apply(package)
    # The front-end manifest (the file earlier versions wrote) is untouched by the server part.
    assert (package / ".youlab-patch" / "manifest.json").read_bytes() == frontend_manifest
    assert openwebui_patches.status(package).state is PatchState.APPLIED
    openwebui_patches.revert(package)
    assert server.status(package).state is PatchState.APPLIED
    server.revert(package)
    assert snapshot(package) == before


def test_status_says_when_a_running_server_predates_main_py(package: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert "keeps its code from before until it restarts" in server.apply(package).describe()
    monkeypatch.setattr(server.running, "servers_started_before", lambda package_dir, when: [4242])
    result = server.status(package)
    assert result.stale_servers == [4242]
    assert "Open WebUI (pid 4242) started before main.py last changed" in result.describe()


def test_concurrent_applies_of_both_parts_end_applied(package: Path) -> None:
    errors: list[BaseException] = []

    def run(step: Callable[[Path], object]) -> None:
        try:
            step(package)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(s,)) for s in (server.apply, openwebui_patches.apply) * 3]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert server.status(package).state is PatchState.APPLIED
    assert openwebui_patches.status(package).state is PatchState.APPLIED
    manifest = json.loads((package / ".youlab-patch" / "server" / "manifest.json").read_text())
    assert len(manifest["files"]["main.py"]["written_sha256"]) == 1


def test_the_documented_block_is_the_one_applied() -> None:
    docs = Path(__file__).resolve().parents[2] / "docs" / "readonly-threads.md"
    assert server.guard_block().decode().strip() in docs.read_text()
