"""apply / revert / status on a private copy of the installed Open WebUI 0.12.4's frontend/static."""

from __future__ import annotations

import json
import shutil
import threading
from pathlib import Path

import pytest

import openwebui_patches
from openwebui_patches import PatchConflict, PatchState, UnsupportedOpenWebUI
from openwebui_patches.assets import ASSETS, BLOCK_BEGIN, LOADER, SCRIPT, STYLESHEET, asset_bytes

from .conftest import copy_open_webui, snapshot


def test_fresh_copy_is_not_applied(package: Path) -> None:
    result = openwebui_patches.status(package)
    assert result.state is PatchState.NOT_APPLIED
    assert result.version == "0.12.4" and result.supported


def test_apply_installs_assets_and_chains_the_original_loader(package: Path, static: Path) -> None:
    original_loader = (static / LOADER).read_bytes()
    result = openwebui_patches.apply(package)
    assert result.state is PatchState.APPLIED, result.describe()
    assert (static / SCRIPT).read_bytes() == asset_bytes(SCRIPT)
    assert (static / STYLESHEET).read_bytes() == asset_bytes(STYLESHEET)
    loader = (static / LOADER).read_bytes()
    assert loader.startswith(original_loader) and BLOCK_BEGIN in loader
    assert f"/static/{SCRIPT}?v=".encode() in loader


def test_apply_keeps_an_existing_loader_working(package: Path, static: Path) -> None:
    custom = b"window.adminLoader = 1;\nconsole.log('admin loader');"  # no trailing newline on purpose
    (static / LOADER).write_bytes(custom)
    openwebui_patches.apply(package)
    loader = (static / LOADER).read_bytes()
    assert loader.startswith(custom)
    openwebui_patches.revert(package)
    assert (static / LOADER).read_bytes() == custom


def test_apply_twice_changes_nothing(package: Path) -> None:
    openwebui_patches.apply(package)
    before = snapshot(package)
    result = openwebui_patches.apply(package)
    assert result.state is PatchState.APPLIED
    assert snapshot(package) == before  # same bytes, modes and modification times: nothing rewritten


def test_revert_restores_every_file_byte_for_byte(package: Path) -> None:
    (package / "frontend" / "static" / LOADER).write_bytes(b"/* shipped */\n")
    before = snapshot(package)
    openwebui_patches.apply(package)
    assert snapshot(package) != before
    result = openwebui_patches.revert(package)
    assert result.state is PatchState.NOT_APPLIED
    assert snapshot(package) == before  # bytes, modes and mtimes; the patch's state folder is gone too
    assert not (package / ".youlab-patch").exists()


def test_revert_of_an_unpatched_copy_is_a_no_op(package: Path) -> None:
    before = snapshot(package)
    assert openwebui_patches.revert(package).state is PatchState.NOT_APPLIED
    assert snapshot(package) == before


def test_unknown_version_is_refused_and_nothing_is_written(tmp_path: Path) -> None:
    package = copy_open_webui(tmp_path, version="0.13.0")
    before = snapshot(tmp_path)
    with pytest.raises(UnsupportedOpenWebUI) as caught:
        openwebui_patches.apply(package)
    message = str(caught.value)
    assert "0.13.0" in message and "0.12.4" in message and "refusing" in message
    assert snapshot(tmp_path) == before
    status = openwebui_patches.status(package)
    assert status.state is PatchState.NOT_APPLIED and not status.supported


def test_a_frontend_that_does_not_load_loader_js_is_refused(package: Path) -> None:
    index = package / "frontend" / "index.html"
    index.write_text(index.read_text().replace("/static/loader.js", "/static/other.js"))
    with pytest.raises(UnsupportedOpenWebUI, match="does not load /static/loader.js"):
        openwebui_patches.apply(package)


def test_missing_version_metadata_is_a_clear_error(package: Path) -> None:
    for info in package.parent.glob("open_webui-*.dist-info"):
        shutil.rmtree(info)
    with pytest.raises(openwebui_patches.OpenWebUINotFound, match="cannot tell which Open WebUI version"):
        openwebui_patches.apply(package)


def test_a_directory_without_a_frontend_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(openwebui_patches.OpenWebUINotFound, match="frontend"):
        openwebui_patches.status(tmp_path)


def test_edited_patched_file_is_reported_modified_and_not_overwritten(package: Path, static: Path) -> None:
    openwebui_patches.apply(package)
    (static / SCRIPT).write_bytes(b"// someone's edit\n")
    result = openwebui_patches.status(package)
    assert result.state is PatchState.MODIFIED
    assert any(SCRIPT in d and "changed" in d for d in result.details)
    with pytest.raises(PatchConflict, match=SCRIPT):
        openwebui_patches.apply(package)
    with pytest.raises(PatchConflict, match=SCRIPT):
        openwebui_patches.revert(package)
    assert (static / SCRIPT).read_bytes() == b"// someone's edit\n"
    assert openwebui_patches.apply(package, force=True).state is PatchState.APPLIED


def test_forced_revert_restores_the_originals_after_an_edit(package: Path, static: Path) -> None:
    before = snapshot(static)
    openwebui_patches.apply(package)
    (static / LOADER).write_bytes(b"// edited after apply\n")
    openwebui_patches.revert(package, force=True)
    assert snapshot(static) == before


def test_reinstalled_open_webui_shows_modified_and_apply_repairs_it(package: Path, static: Path) -> None:
    original = (static / LOADER).read_bytes()
    openwebui_patches.apply(package)
    (static / LOADER).write_bytes(original)  # what `pip install --force-reinstall open-webui` leaves behind
    result = openwebui_patches.status(package)
    assert result.state is PatchState.MODIFIED
    assert any("original again" in d for d in result.details)
    assert openwebui_patches.apply(package).state is PatchState.APPLIED


def test_files_from_an_earlier_patch_version_are_outdated_and_apply_updates_them(package: Path, static: Path) -> None:
    openwebui_patches.apply(package)
    older = b"/* an earlier youlab-readonly.js */\n"
    (static / SCRIPT).write_bytes(older)
    manifest_path = package / ".youlab-patch" / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    manifest["files"][SCRIPT]["written_sha256"].insert(0, openwebui_patches.assets.sha256(older))
    manifest_path.write_text(json.dumps(manifest))
    assert openwebui_patches.status(package).state is PatchState.OUTDATED
    assert openwebui_patches.apply(package).state is PatchState.APPLIED
    assert (static / SCRIPT).read_bytes() == asset_bytes(SCRIPT)


def test_patch_files_without_a_manifest_need_force(package: Path, static: Path) -> None:
    before = snapshot(static)
    openwebui_patches.apply(package)
    shutil.rmtree(package / ".youlab-patch")
    assert openwebui_patches.status(package).state is PatchState.MODIFIED
    with pytest.raises(PatchConflict, match="no manifest"):
        openwebui_patches.apply(package)
    assert openwebui_patches.apply(package, force=True).state is PatchState.APPLIED
    # The forced take-over recovered the original loader.js from the patched one.
    openwebui_patches.revert(package)
    assert {k: v[0] for k, v in snapshot(static).items()} == {k: v[0] for k, v in before.items()}


def test_unreadable_manifest_is_a_clear_error(package: Path) -> None:
    openwebui_patches.apply(package)
    (package / ".youlab-patch" / "manifest.json").write_text("{not json")
    with pytest.raises(openwebui_patches.ManifestError, match="manifest.json"):
        openwebui_patches.status(package)


def test_live_static_dir_is_patched_and_reverted_with_the_package(tmp_path: Path, package: Path, static: Path) -> None:
    live = tmp_path / "live-static"
    shutil.copytree(static, live)  # what Open WebUI's start does
    before = snapshot(live)
    result = openwebui_patches.status(package, live)
    assert result.live_state is PatchState.NOT_APPLIED
    result = openwebui_patches.apply(package, live)
    assert result.state is PatchState.APPLIED and result.live_state is PatchState.APPLIED
    for name in (*ASSETS, LOADER):
        assert (live / name).read_bytes() == (static / name).read_bytes()
    result = openwebui_patches.revert(package, live)
    assert result.state is PatchState.NOT_APPLIED and result.live_state is PatchState.NOT_APPLIED
    assert {k: v[0] for k, v in snapshot(live).items()} == {k: v[0] for k, v in before.items()}


def test_package_applied_before_start_reports_a_stale_live_dir(tmp_path: Path, package: Path, static: Path) -> None:
    live = tmp_path / "live-static"
    shutil.copytree(static, live)
    openwebui_patches.apply(package)
    result = openwebui_patches.status(package, live)
    assert result.state is PatchState.APPLIED and result.live_state is PatchState.NOT_APPLIED
    assert any("restart Open WebUI" in d for d in result.details)


def test_live_dir_with_its_own_loader_is_not_overwritten(tmp_path: Path, package: Path, static: Path) -> None:
    live = tmp_path / "live-static"
    shutil.copytree(static, live)
    (live / LOADER).write_bytes(b"// edited in the running server only\n")
    with pytest.raises(PatchConflict, match=str(live)):
        openwebui_patches.apply(package, live)
    assert (live / LOADER).read_bytes() == b"// edited in the running server only\n"


def test_concurrent_applies_end_applied(package: Path) -> None:
    errors: list[BaseException] = []

    def run() -> None:
        try:
            openwebui_patches.apply(package)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert openwebui_patches.status(package).state is PatchState.APPLIED
    manifest = json.loads((package / ".youlab-patch" / "manifest.json").read_text())
    assert all(len(rec["written_sha256"]) == 1 for rec in manifest["files"].values())


def test_backups_and_manifest_are_outside_the_served_folders(package: Path) -> None:
    openwebui_patches.apply(package)
    served = [package / "frontend"]
    state = package / ".youlab-patch"
    assert state.is_dir()
    assert all(served_dir not in state.parents for served_dir in served)
