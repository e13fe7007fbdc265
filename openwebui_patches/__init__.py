"""Changes to Open WebUI itself, in two parts (see docs/readonly-threads.md):

- the front-end view (installer.py, assets.py): a script and stylesheet loaded through Open WebUI's
  /static/loader.js that show agent threads read-only; `apply`, `revert`, `status` below;
- the server write guard (server.py): a block appended to `open_webui/main.py` that installs YouLab's write guard
  on Open WebUI's app; `server.apply`, `server.revert`, `server.status`.
"""

from __future__ import annotations

from . import common, server
from .common import SUPPORTED_VERSIONS, PatchConflict, PatchState, UnsupportedOpenWebUI
from .installer import PatchStatus, apply, revert, status
from .locate import OpenWebUINotFound, installed_package_dir, package_version
from .manifest import ManifestError
from .server import ServerPatchStatus

__all__ = [
    "SUPPORTED_VERSIONS",
    "ManifestError",
    "OpenWebUINotFound",
    "PatchConflict",
    "PatchState",
    "PatchStatus",
    "ServerPatchStatus",
    "UnsupportedOpenWebUI",
    "apply",
    "common",
    "installed_package_dir",
    "package_version",
    "revert",
    "server",
    "status",
]
