"""What both parts of the patch share: the supported Open WebUI versions, the states a patched file can be in, the
errors, and the file-level steps (hash, lock, restore) that make apply idempotent and revert byte-exact.

The two parts are the front-end view (installer.py: files in `frontend/static`) and the server block
(server.py: a block appended to `main.py`); each keeps its own manifest and backups (manifest.py)."""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import tempfile
from collections.abc import Iterator
from enum import Enum
from pathlib import Path

from youlab_core.errors import YoulabError

from .assets import sha256
from .locate import OpenWebUINotFound, installed_package_dir
from .manifest import FileRecord

SUPPORTED_VERSIONS = ("0.12.4",)


class UnsupportedOpenWebUI(YoulabError):
    """An Open WebUI this patch was not written for; patching it blindly could break it."""


class PatchConflict(YoulabError):
    """A file the patch would write or restore holds bytes the patch did not put there."""


class PatchState(str, Enum):
    APPLIED = "applied"
    NOT_APPLIED = "not applied"
    OUTDATED = "outdated"  # applied by an earlier version of this patch; `apply` updates it
    MODIFIED = "modified"  # patched files were changed (or restored) by someone else since apply


def resolve_package(package_dir: Path | None) -> Path:
    package = (package_dir or installed_package_dir()).resolve()
    if not package.is_dir():
        raise OpenWebUINotFound(f"Open WebUI package directory {package} does not exist")
    return package


def check_version(package: Path, version: str) -> None:
    if version not in SUPPORTED_VERSIONS:
        raise UnsupportedOpenWebUI(
            f"Open WebUI {version} at {package} is not a version this patch knows (it supports "
            f"{', '.join(SUPPORTED_VERSIONS)}); refusing to patch it blindly. Agent threads stay read-only through "
            "the server-side guard; install open-webui==0.12.4 or a YouLab release that supports this version."
        )


def digest(path: Path) -> str | None:
    return sha256(path.read_bytes()) if path.is_file() else None


@contextlib.contextmanager
def locked(package_dir: Path) -> Iterator[None]:
    """Serialise patch operations on one package (several test sessions may share one environment)."""
    fd = os.open(package_dir, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


@contextlib.contextmanager
def writable(where: Path) -> Iterator[None]:
    try:
        yield
    except PermissionError as exc:
        raise YoulabError(
            f"cannot write {exc.filename or where}: run `youlab patch` as the user who owns the Open WebUI "
            "installation"
        ) from exc


def restore(backup: Path, target: Path) -> None:
    """Put a byte-exact backup (content, mode, times) back in place atomically."""
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    os.close(fd)
    try:
        shutil.copy2(backup, tmp)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def classify(current: str | None, desired: str, record: FileRecord | None) -> PatchState:
    if current == desired:
        return PatchState.APPLIED
    if record is not None and current in record.written_sha256:
        return PatchState.OUTDATED
    if current == (record.original_sha256 if record else None):
        return PatchState.NOT_APPLIED
    return PatchState.MODIFIED


def combine(states: list[PatchState]) -> PatchState:
    if all(s is PatchState.APPLIED for s in states):
        return PatchState.APPLIED
    if all(s is PatchState.NOT_APPLIED for s in states):
        return PatchState.NOT_APPLIED
    if all(s in (PatchState.APPLIED, PatchState.OUTDATED) for s in states):
        return PatchState.OUTDATED
    return PatchState.MODIFIED
