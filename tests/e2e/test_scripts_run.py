"""The real `scripts/run`, once: it prints the ready line and a login that works, and Ctrl-C stops everything."""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import threading
import time
from pathlib import Path

import psutil

from youlab_core.launch import free_port, port_is_free
from youlab_core.openwebui import SyncOpenWebUIClient

CHECKOUT = Path(__file__).resolve().parents[2]
READY = "Open WebUI is ready at "
DROP = ("OPENAI_", "OLLAMA_", "YOULAB_ADMIN_", "YOULAB_VALVE_", "YOULAB_DATA_DIR", "YOULAB_PORT", "YOULAB_CONFIG_DIR")


def _gone(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def test_scripts_run_starts_prints_a_working_login_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(DROP)}
    process = subprocess.Popen(
        [str(CHECKOUT / "scripts" / "run"), "--port", str(port), "--data-dir", str(tmp_path / "data")],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    lines: queue.Queue[str] = queue.Queue()
    output: list[str] = []

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            output.append(line)
            lines.put(line)

    threading.Thread(target=read, daemon=True).start()
    started = time.monotonic()
    descendants: list[psutil.Process] = []
    try:
        url = None
        deadline = started + float(os.environ.get("YOULAB_E2E_START_TIMEOUT", "400"))
        while url is None:
            assert process.poll() is None, "scripts/run exited early:\n" + "".join(output)
            assert time.monotonic() < deadline, "no ready line in time:\n" + "".join(output)
            try:
                line = lines.get(timeout=1)
            except queue.Empty:
                continue
            if line.startswith(READY):
                url = line[len(READY):].strip()
        assert url == f"http://127.0.0.1:{port}"
        email = lines.get(timeout=10).split(":", 1)[1].strip()
        password = lines.get(timeout=10).split(":", 1)[1].split()[0]
        print(f"scripts/run was ready after {time.monotonic() - started:.0f} s")

        with SyncOpenWebUIClient(url) as client:
            user = client.sign_in(email, password)
            assert user["role"] == "admin"
            ids = {m["id"] for m in client.models.available()}
            assert {"college-essay-tutor", "youlab-demo"} <= ids

        assert ((tmp_path / "data" / "youlab-admin.json").stat().st_mode & 0o777) == 0o600
        descendants = psutil.Process(process.pid).children(recursive=True)
        names = " ".join(" ".join(p.cmdline()) for p in descendants)
        assert "open-webui serve" in names and "demo-model" in names

        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=60) == 0, "".join(output)
        time.sleep(0.5)
        left = [p.pid for p in descendants if not _gone(p.pid)]
        assert left == [], f"still running after Ctrl-C: {left}"
        assert port_is_free(port)
        assert "==> stopped" in "".join(output)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
        for child in descendants:
            if not _gone(child.pid):
                child.kill()
