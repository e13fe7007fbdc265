"""Starting and preparing one Open WebUI: the steps scripts/run and the e2e harness share.

1. `start_openwebui`: `open-webui serve` on 127.0.0.1:PORT with `openwebui_env`, cwd = data dir, log to a file.
2. `wait_until_healthy` (processes.py).
3. `prepare`: sign in as the admin, line up the LLM connection, run the installer.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import YoulabError
from ..install import InstallOptions, InstallReport, ValveSetting, install
from ..openwebui import OpenWebUIClient, OpenWebUIError
from .connection import ensure_connection
from .datadir import AdminLogin
from .processes import ManagedProcess, openwebui_executable
from .provider import Provider


def start_openwebui(
    *, env: dict[str, str], host: str, port: int, data_dir: Path, log_path: Path
) -> ManagedProcess:
    command = [openwebui_executable(), "serve", "--host", host, "--port", str(port)]
    return ManagedProcess.start("Open WebUI", command, env=env, log_path=log_path, cwd=data_dir)


def default_valves(config_dir: Path, storage_root: Path) -> list[ValveSetting]:
    """What scripts/run sets on every youlab function that has these valves."""
    return [
        ValveSetting("config_dir", str(config_dir), None, "scripts/run", required=False),
        ValveSetting("storage_root", str(storage_root), None, "scripts/run", required=False),
    ]


@dataclass
class Prepared:
    token: str
    user: dict[str, Any]
    report: InstallReport
    notes: list[str] = field(default_factory=list)


async def prepare(
    url: str,
    admin: AdminLogin,
    provider: Provider,
    options: InstallOptions,
    connection_state: dict[str, Any],
) -> Prepared:
    async with OpenWebUIClient(url, timeout=120.0) as client:
        try:
            user = await client.sign_in(admin.email, admin.password)
        except OpenWebUIError as exc:
            raise YoulabError(
                f"could not sign in to {url} as {admin.email} ({exc.detail}). Open WebUI creates the admin only on "
                "the first start of a data directory: use the login printed then (or set YOULAB_ADMIN_EMAIL and "
                "YOULAB_ADMIN_PASSWORD to it), or start with an empty data directory"
            ) from exc
        if user.get("role") != "admin":
            raise YoulabError(f"{admin.email} is not an admin in {url}")
        notes = await ensure_connection(client, provider, connection_state)
        report = await install(client, options)
        # Open WebUI refreshes its model list (per process, or in Redis with replicas) only when /api/models is asked
        # (the page does on load); install asked before creating the course models, so a student calling the API
        # first got "Model not found" for the tutor. Refreshed once here, every replica sees the new models.
        await client.models.available(refresh=True)
        return Prepared(token=client.token or "", user=user, report=report, notes=notes)


def patch_command_available() -> bool:
    """Whether the read-only patch (another part of the project) provides `youlab patch apply`."""
    from ..cli import COMMAND_MODULES

    return (
        "patch_cmd" in COMMAND_MODULES
        and importlib.util.find_spec("youlab_core.cli.patch_cmd") is not None
        and importlib.util.find_spec("openwebui_patches") is not None
    )


def apply_patch() -> str | None:
    """Run `youlab patch apply` before Open WebUI starts (it copies its static files at start). Returns a warning
    when the patch could not be applied (Open WebUI still runs; the filter keeps agent threads read-only)."""
    if not patch_command_available():
        return None
    done = subprocess.run(
        [sys.executable, "-m", "youlab_core", "patch", "apply"], capture_output=True, text=True, timeout=300
    )
    if done.returncode != 0:
        return f"the read-only patch was not applied: {(done.stderr or done.stdout).strip()}"
    return None
