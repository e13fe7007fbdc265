"""Child processes scripts/run starts (Open WebUI, the demo model): each in its own process group, its output in a
log file, stopped as a group (SIGTERM, then SIGKILL after a grace period)."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

import httpx

from ..errors import YoulabError


class LaunchError(YoulabError):
    """Something scripts/run started did not come up (the message carries the end of its log)."""


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def port_is_free(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def log_tail(path: Path, lines: int = 60) -> str:
    try:
        text = Path(path).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return "(no log)"
    return "\n".join(text.splitlines()[-lines:])


def openwebui_executable() -> str:
    """`open-webui` next to this Python (the venv's), else on PATH."""
    candidate = Path(sys.executable).parent / "open-webui"
    if candidate.is_file():
        return str(candidate)
    found = shutil.which("open-webui")
    if not found:
        raise LaunchError("open-webui is not installed in this environment (scripts/run installs it)")
    return found


class ManagedProcess:
    """One started child. `stop()` ends its whole process group."""

    def __init__(self, name: str, popen: subprocess.Popen[bytes], log_path: Path,
                 stop_signal: signal.Signals = signal.SIGTERM) -> None:
        self.name = name
        self.popen = popen
        self.log_path = log_path
        self.stop_signal = stop_signal

    @classmethod
    def start(
        cls, name: str, command: Sequence[str], *, env: Mapping[str, str], log_path: Path, cwd: Path | None = None,
        stop_signal: signal.Signals = signal.SIGTERM,
    ) -> ManagedProcess:
        log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(log_path, "ab") as log:
            popen = subprocess.Popen(
                list(command),
                env=dict(env),
                cwd=cwd,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # own process group: Ctrl-C reaches us, and we stop the group
            )
        return cls(name, popen, log_path, stop_signal)

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def kill(self) -> None:
        """SIGKILL to the whole group at once, as a crash or the OOM killer would end it (tests)."""
        try:
            os.killpg(self.popen.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.popen.wait(timeout=30)

    def stop(self, grace: float = 15.0) -> None:
        """`stop_signal` (SIGTERM) to the group, SIGKILL to whatever is left after `grace` seconds. Safe to call
        twice."""
        try:
            os.killpg(self.popen.pid, self.stop_signal)
        except ProcessLookupError:
            pass
        try:
            self.popen.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            pass
        try:
            os.killpg(self.popen.pid, signal.SIGKILL)  # stragglers in the group (workers), even if the leader left
        except ProcessLookupError:
            pass
        try:
            self.popen.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass


def wait_until_healthy(url: str, process: ManagedProcess, *, timeout: float, path: str = "/health") -> float:
    """Poll `url + path` until it answers 200; seconds waited. Raises LaunchError (with the log's end) when the
    process exits or `timeout` passes."""
    started = time.monotonic()
    with httpx.Client(timeout=5.0, trust_env=False) as client:
        while True:
            if not process.alive():
                raise LaunchError(
                    f"{process.name} exited with status {process.popen.returncode} before answering {url}{path}.\n"
                    f"Last lines of {process.log_path}:\n{log_tail(process.log_path)}"
                )
            try:
                if client.get(url + path).status_code == 200:
                    return time.monotonic() - started
            except httpx.HTTPError:
                pass
            if time.monotonic() - started > timeout:
                raise LaunchError(
                    f"{process.name} did not answer {url}{path} within {timeout:.0f} s.\n"
                    f"Last lines of {process.log_path}:\n{log_tail(process.log_path)}"
                )
            time.sleep(0.5)
