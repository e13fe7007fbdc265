"""A private copy of the installed Open WebUI's patchable files, so tests never touch the shared environment."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

import openwebui_patches


def copy_open_webui(target_root: Path, version: str | None = None) -> Path:
    """Copy frontend/static, frontend/index.html, main.py and the dist-info METADATA of the installed Open WebUI
    into `target_root/site-packages/`, optionally claiming another version. Returns the copied package directory."""
    installed = openwebui_patches.installed_package_dir()
    site = target_root / "site-packages"
    package = site / "open_webui"
    (package / "frontend").mkdir(parents=True)
    shutil.copytree(installed / "frontend" / "static", package / "frontend" / "static")
    _unpatch(installed, package / "frontend" / "static")
    shutil.copy2(installed / "frontend" / "index.html", package / "frontend" / "index.html")
    shutil.copy2(installed / "main.py", package / "main.py")
    _unpatch_main(installed, package / "main.py")
    real_version = openwebui_patches.package_version(installed)
    info = site / f"open_webui-{version or real_version}.dist-info"
    info.mkdir()
    metadata = (installed.parent / f"open_webui-{real_version}.dist-info" / "METADATA").read_text()
    if version:
        metadata = metadata.replace(f"\nVersion: {real_version}\n", f"\nVersion: {version}\n", 1)
    (info / "METADATA").write_text(metadata)
    return package


def _unpatch(installed: Path, static: Path) -> None:
    """The shared environment's Open WebUI is usually patched already (the e2e harness applies the patch): give
    the copy the pristine files, read straight from that install's own backups, not through the code under test."""
    state = installed / ".youlab-patch"
    manifest_path = state / "manifest.json"
    if not manifest_path.is_file():
        return
    files = json.loads(manifest_path.read_text())["files"]
    for name, record in files.items():
        if record["original_sha256"] is None:
            (static / name).unlink(missing_ok=True)
        else:
            shutil.copy2(state / "originals" / name, static / name)


def _unpatch_main(installed: Path, main: Path) -> None:
    """The same for main.py and the server part's backup."""
    state = installed / ".youlab-patch" / "server"
    if (state / "manifest.json").is_file():
        shutil.copy2(state / "originals" / "main.py", main)


def snapshot(root: Path) -> dict[str, tuple[bytes, int, int]]:
    """Every file under root: bytes, mode and mtime (ns), keyed by relative path."""
    return {
        str(p.relative_to(root)): (p.read_bytes(), p.stat().st_mode, p.stat().st_mtime_ns)
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


@pytest.fixture
def package(tmp_path: Path) -> Path:
    return copy_open_webui(tmp_path)


@pytest.fixture
def main_py(package: Path) -> Path:
    return package / "main.py"


@pytest.fixture
def static(package: Path) -> Path:
    return package / "frontend" / "static"
