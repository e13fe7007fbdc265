"""Using Open WebUI's own database from a YouLab command (`youlab run --openwebui-db`, `youlab scheduler`).

Run threads (the report under which a student approves or rejects each proposed change) can only be written into
Open WebUI's database: Open WebUI 0.12's REST API creates folders and chats only for the caller, so an admin key
cannot put a thread into a student's chat list. A command that proposes changes without writing threads leaves
changes nobody can review, so such commands refuse to run (`NO_THREADS`).

Importing Open WebUI outside `open-webui serve` needs the environment that command sets up, so `prepare` completes
it (an explicit value in the environment always wins):
- FRONTEND_BUILD_DIR: `open-webui serve` points Open WebUI at the package's `frontend/` assets (through
  FROM_INIT_PY, which would also move a data folder it finds inside the package, so we set the folder instead).
  Without it the import stops with "Static asset source directory not found".
- STATIC_DIR: the import empties this folder and refills it from those assets. The default is inside the installed
  package, where a running server may serve from, so this process gets a private temporary folder.
- ENABLE_DB_MIGRATIONS=false: the server owns its database schema; a command must not migrate it under the server.
- WEBUI_SECRET_KEY: Open WebUI's import exits without one; when unset it is read from `<DATA_DIR>/.webui_secret_key`
  (where scripts/run keeps it, and where `open-webui serve` started in the data directory writes it).
"""

from __future__ import annotations

import atexit
import importlib.util
import os
import shutil
import tempfile
from collections.abc import MutableMapping
from pathlib import Path

from ..errors import YoulabError

NO_THREADS = (
    "{command} would propose memory changes that no student could review: each run's changes are reviewed in a run "
    "thread (the report with the Approve and Reject buttons), and run threads can only be written into Open WebUI's "
    "database (Open WebUI 0.12's REST API creates chats only for the caller, so an admin key cannot put one into a "
    "student's chat list). {instead}"
)
RUN_INSTEAD = (
    "Run it inside Open WebUI instead (as an admin, send the students' emails or ids to the hidden model "
    "youlab_agents.<task>), or on the Open WebUI host with --openwebui-db and that Open WebUI's DATA_DIR (or "
    "DATABASE_URL) in the environment."
)
SCHEDULER_INSTEAD = (
    "Open WebUI already runs the scheduler loop in every one of its processes once the YouLab functions are "
    "installed; run `youlab scheduler` only on the Open WebUI host, with that Open WebUI's DATA_DIR (or "
    "DATABASE_URL) in the environment."
)


def database_configured(environ: MutableMapping[str, str]) -> bool:
    """Whether the environment names an Open WebUI database at all (DATABASE_URL, or DATA_DIR)."""
    return bool(environ.get("DATABASE_URL") or environ.get("DATA_DIR"))


def openwebui_package_dir() -> Path | None:
    """The installed `open_webui` package folder (found without importing it), or None."""
    spec = importlib.util.find_spec("open_webui")
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def prepare(command: str, environ: MutableMapping[str, str] | None = None) -> None:
    """Check that this process can use Open WebUI's database and complete the environment Open WebUI's import
    needs. Call before anything imports `open_webui`. Raises YoulabError naming what is missing."""
    env = os.environ if environ is None else environ
    package = openwebui_package_dir()
    if package is None:
        raise YoulabError(f"{command} needs Open WebUI 0.12.4 installed in this Python environment (it writes "
                          "through Open WebUI's own code): run it where Open WebUI runs, e.g. in its container")
    if not database_configured(env):
        raise YoulabError(f"{command} needs the Open WebUI's DATA_DIR (the folder holding webui.db) or its "
                          "DATABASE_URL in the environment")
    data_dir = Path(env["DATA_DIR"]) if env.get("DATA_DIR") else None
    if not env.get("DATABASE_URL") and data_dir is not None and not (data_dir / "webui.db").is_file():
        raise YoulabError(f"{command}: DATA_DIR={data_dir} holds no webui.db; set DATA_DIR to the data folder of "
                          "the Open WebUI the students use (or DATABASE_URL to its database)")
    if not env.get("WEBUI_SECRET_KEY"):
        key_file = data_dir / ".webui_secret_key" if data_dir is not None else None
        if key_file is None or not key_file.is_file():
            raise YoulabError(f"{command} needs WEBUI_SECRET_KEY in the environment (the Open WebUI's secret key; "
                              "Open WebUI will not load without it)")
        env["WEBUI_SECRET_KEY"] = key_file.read_text(encoding="utf-8").strip()
    env.setdefault("FRONTEND_BUILD_DIR", str(package / "frontend"))
    env.setdefault("ENABLE_DB_MIGRATIONS", "false")
    if not env.get("STATIC_DIR"):
        static = tempfile.mkdtemp(prefix="youlab-openwebui-static-")
        atexit.register(shutil.rmtree, static, ignore_errors=True)
        env["STATIC_DIR"] = static
