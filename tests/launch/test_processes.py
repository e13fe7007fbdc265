import sys
import time
from pathlib import Path

import pytest

from youlab_core.launch.processes import LaunchError, ManagedProcess, free_port, port_is_free, wait_until_healthy


def _pid_alive(pid: int) -> bool:
    try:
        import os

        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_stop_ends_the_whole_process_group(tmp_path: Path) -> None:
    # A parent that starts a child which ignores SIGTERM: stop() must still end both.
    script = (
        "import subprocess, sys, time\n"
        "child = subprocess.Popen([sys.executable, '-c', "
        "'import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); print(flush=True); time.sleep(60)'])\n"
        "print(child.pid, flush=True)\n"
        "time.sleep(60)\n"
    )
    log = tmp_path / "p.log"
    process = ManagedProcess.start("parent", [sys.executable, "-c", script], env={}, log_path=log)
    deadline = time.monotonic() + 10
    while not log.read_text().strip() and time.monotonic() < deadline:
        time.sleep(0.05)
    child_pid = int(log.read_text().split()[0])
    process.stop(grace=1.0)
    assert not process.alive()
    time.sleep(0.2)
    assert not _pid_alive(child_pid) or Path(f"/proc/{child_pid}/stat").read_text().split()[2] == "Z"


def test_health_wait_reports_an_early_exit_with_the_log(tmp_path: Path) -> None:
    log = tmp_path / "x.log"
    process = ManagedProcess.start(
        "broken server", [sys.executable, "-c", "print('boom: config error'); raise SystemExit(3)"], env={},
        log_path=log,
    )
    with pytest.raises(LaunchError, match=r"(?s)broken server exited with status 3.*boom: config error"):
        wait_until_healthy(f"http://127.0.0.1:{free_port()}", process, timeout=30)


def test_health_wait_times_out(tmp_path: Path) -> None:
    process = ManagedProcess.start("sleeper", [sys.executable, "-c", "import time; time.sleep(30)"], env={},
                                   log_path=tmp_path / "s.log")
    try:
        with pytest.raises(LaunchError, match="did not answer"):
            wait_until_healthy(f"http://127.0.0.1:{free_port()}", process, timeout=1)
    finally:
        process.stop(grace=1)


def test_port_is_free() -> None:
    port = free_port()
    assert port_is_free(port)
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", port))
        sock.listen()
        assert not port_is_free(port)
