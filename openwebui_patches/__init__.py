"""Changes to Open WebUI itself: the read-only view of agent threads (a script and stylesheet loaded through
Open WebUI's /static/loader.js), and the code that applies, reverts and reports it. See docs/readonly-threads.md."""

from __future__ import annotations

from .installer import (
    SUPPORTED_VERSIONS,
    PatchConflict,
    PatchState,
    PatchStatus,
    UnsupportedOpenWebUI,
    apply,
    revert,
    status,
)
from .locate import OpenWebUINotFound, installed_package_dir, package_version
from .manifest import ManifestError

__all__ = [
    "SUPPORTED_VERSIONS",
    "ManifestError",
    "OpenWebUINotFound",
    "PatchConflict",
    "PatchState",
    "PatchStatus",
    "UnsupportedOpenWebUI",
    "apply",
    "installed_package_dir",
    "package_version",
    "revert",
    "status",
]
