"""What scripts/run keeps in its data directory between starts: Open WebUI's secret key and the admin login.

Both are generated once and then reused, so a second start with the same data directory signs in the same way.
Files holding secrets are created with mode 600.
"""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import YoulabError

SECRET_KEY_FILE = ".webui_secret_key"  # the name `open-webui serve` itself would use in its working directory
ADMIN_FILE = "youlab-admin.json"
LAUNCH_STATE_FILE = "youlab-launch.json"
DEFAULT_ADMIN_EMAIL = "admin@localhost"
DEFAULT_ADMIN_NAME = "YouLab Admin"


@dataclass(frozen=True)
class AdminLogin:
    email: str
    password: str
    name: str = DEFAULT_ADMIN_NAME
    generated: bool = False  # the password was generated (and is kept in the data dir), not given in the env


def _write_private(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)
    os.chmod(path, 0o600)


class DataDir:
    def __init__(self, path: Path | str) -> None:
        self.path = Path(path).resolve()

    def ensure(self) -> DataDir:
        self.path.mkdir(parents=True, exist_ok=True)
        return self

    @property
    def storage_root(self) -> Path:
        return self.path / "youlab"

    @property
    def log_dir(self) -> Path:
        return self.path / "logs"

    def secret_key(self) -> str:
        """WEBUI_SECRET_KEY: generated on the first start, then read back (sessions survive restarts)."""
        path = self.path / SECRET_KEY_FILE
        if path.is_file():
            key = path.read_text(encoding="utf-8").strip()
            if key:
                return key
        key = secrets.token_urlsafe(32)
        _write_private(path, key + "\n")
        return key

    def admin_login(self, environ: dict[str, str] | os._Environ[str]) -> AdminLogin:
        """The admin account: YOULAB_ADMIN_EMAIL/YOULAB_ADMIN_PASSWORD when set, else the one kept here.

        Open WebUI creates the admin from these only on the very first start (when it has no users), so the login
        is recorded in the data dir and later starts print the same one.
        """
        path = self.path / ADMIN_FILE
        stored: dict[str, Any] = {}
        if path.is_file():
            try:
                stored = json.loads(path.read_text(encoding="utf-8"))
            except ValueError as exc:
                raise YoulabError(f"{path}: not valid JSON ({exc}); fix or delete it") from None
        email = (environ.get("YOULAB_ADMIN_EMAIL") or stored.get("email") or DEFAULT_ADMIN_EMAIL).strip()
        name = stored.get("name") or DEFAULT_ADMIN_NAME
        env_password = environ.get("YOULAB_ADMIN_PASSWORD") or ""
        same_account = stored.get("email", "").lower() == email.lower()
        if env_password:
            # Given in the environment: used as is and not written to disk.
            login = AdminLogin(email, env_password, name, generated=False)
            record = {"email": email, "name": name, "generated": False}
        elif same_account and stored.get("password"):
            login = AdminLogin(email, str(stored["password"]), name, generated=True)
            record = stored
        elif same_account and stored.get("generated") is False:
            raise YoulabError(
                f"the admin {email} of {self.path} was created with YOULAB_ADMIN_PASSWORD, which is not set now: "
                "set it again (the password is not kept on disk)"
            )
        else:
            login = AdminLogin(email, secrets.token_urlsafe(12), name, generated=True)
            record = {"email": email, "password": login.password, "name": name, "generated": True}
        if record != stored:
            _write_private(path, json.dumps(record, indent=2) + "\n")
        return login

    def launch_state(self) -> dict[str, Any]:
        path = self.path / LAUNCH_STATE_FILE
        if not path.is_file():
            return {}
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except ValueError:
            return {}

    def save_launch_state(self, state: dict[str, Any]) -> None:
        _write_private(self.path / LAUNCH_STATE_FILE, json.dumps(state, indent=2, sort_keys=True) + "\n")
