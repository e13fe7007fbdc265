"""A real Open WebUI 0.12.4 for the end-to-end tests, started the way scripts/run starts it.

The same pieces as scripts/run (youlab_core.launch: environment, process, health wait, admin sign-in, LLM
connection, `youlab install`), with: a temporary data dir, a free port, a temporary COPY of config/ (tests may
edit it), and the demo model in this process (tests read its request log). Used by tests/e2e/conftest.py.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import secrets
import shutil
from collections.abc import Awaitable, Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from youlab_core.demo_model import DemoModelServer
from youlab_core.install import InstallOptions, InstallReport, install, valves_from_env
from youlab_core.launch import (
    AdminLogin,
    ManagedProcess,
    apply_patch,
    default_valves,
    demo_provider,
    free_port,
    log_tail,
    openwebui_env,
    prepare,
    start_openwebui,
    wait_until_healthy,
)
from youlab_core.openwebui import OpenWebUIClient, SyncOpenWebUIClient

CHECKOUT = Path(__file__).resolve().parents[2]
HOST = "127.0.0.1"
T = TypeVar("T")


@dataclass
class OpenWebUIHandle:
    url: str
    admin_email: str
    admin_password: str
    admin_token: str
    api: SyncOpenWebUIClient
    demo: DemoModelServer
    data_dir: Path
    storage_root: Path
    config_dir: Path
    log_path: Path
    process: ManagedProcess
    first_install: InstallReport
    tutor_model: str = "college-essay-tutor"
    _students: Iterator[int] = field(default_factory=itertools.count)
    _start: Callable[[], ManagedProcess] | None = None

    def restart(self) -> None:
        """Stop Open WebUI and start it again on the same port, data and environment (as an operator restarts it);
        returns once /health answers. Nothing is sent to it meanwhile."""
        assert self._start is not None
        self.process.stop()
        self.process = self._start()

    def client(self, token: str | None = None) -> OpenWebUIClient:
        """A new async client (admin unless `token` is given); use it with `async with`."""
        return OpenWebUIClient(self.url, token=token or self.admin_token, timeout=120.0)

    def run(self, call: Callable[[OpenWebUIClient], Awaitable[T]]) -> T:
        """Run `call(admin async client)` on the admin client's private loop (works from sync and async tests)."""
        return self.api._runner.run(call(self.api._target))

    def make_student(self, name: str) -> tuple[dict[str, Any], str]:
        """A new user account with role "user" (unique email per call): (user, session token)."""
        n = next(self._students)
        slug = "".join(ch for ch in name.lower() if ch.isalnum()) or "student"
        email = f"{slug}.{n}.{secrets.token_hex(3)}@example.org"
        created = self.api.users.add(name, email, secrets.token_urlsafe(12), "user")
        return created, created["token"]

    def install(self, **overrides: Any) -> InstallReport:
        """Run the installer again (same valves as the first time unless overridden)."""
        options = InstallOptions(
            config_dir=self.config_dir,
            valves=default_valves(self.config_dir, self.storage_root),
        )
        for key, value in overrides.items():
            setattr(options, key, value)
        return self.run(lambda client: install(client, options))

    def log_tail(self, lines: int = 80) -> str:
        return log_tail(self.log_path, lines)

    def log_text(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")


@contextmanager
def running_openwebui(root: Path, *, start_timeout: float | None = None,
                      environ: Mapping[str, str] | None = None, demo_url: str | None = None) -> Iterator[OpenWebUIHandle]:
    """`environ`: variables as an operator would set them for scripts/run (e.g. YOULAB_VALVE_HONCHO_URL): they
    reach Open WebUI's environment, and YOULAB_VALVE_* become install valves, exactly as scripts/run does it.
    `demo_url`: a demo model already running elsewhere (its own process, as scripts/run starts it) instead of the
    one in this process (handle.demo then sees no requests)."""
    extra = dict(environ or {})
    timeout = start_timeout or float(os.environ.get("YOULAB_E2E_START_TIMEOUT", "400"))
    data_dir = root / "data"
    data_dir.mkdir(parents=True)
    config_dir = root / "config"
    shutil.copytree(CHECKOUT / "config", config_dir)
    storage_root = data_dir / "youlab"
    log_path = root / "open-webui.log"
    admin = AdminLogin("admin@localhost", secrets.token_urlsafe(12), "E2E Admin", generated=True)
    demo = DemoModelServer(HOST, 0).start()
    process: ManagedProcess | None = None
    handle: OpenWebUIHandle | None = None
    api: SyncOpenWebUIClient | None = None
    try:
        warning = apply_patch()
        if warning:
            print(f"warning: {warning}")
        provider = demo_provider(demo_url or demo.base_url)
        # The test process's own provider or valve variables must not leak into the server.
        base = {k: v for k, v in os.environ.items() if not k.startswith("YOULAB_VALVE_")}
        base.update(extra)
        env = openwebui_env(base, data_dir=data_dir, secret_key=secrets.token_urlsafe(32), admin=admin,
                            provider=provider, config_dir=config_dir)
        port = free_port(HOST)
        url = f"http://{HOST}:{port}"

        def start() -> ManagedProcess:
            started = start_openwebui(env=env, host=HOST, port=port, data_dir=data_dir, log_path=log_path)
            try:
                wait_until_healthy(url, started, timeout=timeout)
            except BaseException:
                started.stop()
                raise
            return started

        process = start()
        options = InstallOptions(config_dir=config_dir,
                                 valves=default_valves(config_dir, storage_root) + valves_from_env(extra))
        prepared = asyncio.run(prepare(url, admin, provider, options, {}))
        api = SyncOpenWebUIClient(url, token=prepared.token, timeout=120.0)
        handle = OpenWebUIHandle(
            url=url,
            admin_email=admin.email,
            admin_password=admin.password,
            admin_token=prepared.token,
            api=api,
            demo=demo,
            data_dir=data_dir,
            storage_root=storage_root,
            config_dir=config_dir,
            log_path=log_path,
            process=process,
            first_install=prepared.report,
            _start=start,
        )
        yield handle
    finally:
        if api is not None:
            api.close()
        if handle is not None:
            handle.process.stop()  # the one running now (restart() replaces it)
        elif process is not None:
            process.stop()
        demo.stop()
