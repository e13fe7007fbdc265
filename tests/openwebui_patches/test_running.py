"""Finding running Open WebUI servers that predate main.py's last change, on a fake /proc."""

from __future__ import annotations

import os
from pathlib import Path

from openwebui_patches import running

BOOT = 1_700_000_000
TICKS = os.sysconf("SC_CLK_TCK")


def _process(proc: Path, pid: int, argv: list[str], started: float, maps: str, name: str = "python3") -> None:
    entry = proc / str(pid)
    entry.mkdir()
    (entry / "cmdline").write_bytes("\0".join(argv).encode() + b"\0")
    ticks = int((started - BOOT) * TICKS)
    # Fields 3..21 are placeholders; field 22 is the start time. The name may hold spaces and parentheses.
    (entry / "stat").write_text(f"{pid} ({name}) S " + " ".join(["0"] * 18) + f" {ticks} 0 0\n")
    (entry / "maps").write_text(maps)


def _fake_proc(tmp_path: Path, site: Path) -> Path:
    proc = tmp_path / "proc"
    proc.mkdir()
    (proc / "stat").write_text(f"cpu 1 2 3\nbtime {BOOT}\nprocesses 9\n")
    here = f"7f00-7f01 r-xp 0 08:01 1 {site}/pydantic_core/_pydantic_core.so\n"
    elsewhere = "7f00-7f01 r-xp 0 08:01 1 /other/venv/lib/site-packages/pydantic_core/_pydantic_core.so\n"
    serve = ["/venv/bin/python", "/venv/bin/open-webui", "serve", "--port", "8080"]
    _process(proc, 101, serve, BOOT + 100, here)  # started before the change: stale
    _process(proc, 102, serve, BOOT + 900, here)  # started after: runs the new code
    _process(proc, 103, serve, BOOT + 100, elsewhere)  # another environment's server
    _process(proc, 104, ["uvicorn", "open_webui.main:app", "--workers", "2"], BOOT + 100, here, "uvicorn (x)")
    _process(proc, 105, ["python", "-m", "youlab_core", "patch", "status", "--open-webui-dir", "x"], BOOT + 1, here)
    _process(proc, 106, ["pytest", "tests/e2e/test_open_webui.py"], BOOT + 1, here)
    (proc / "107").mkdir()  # a process that went away meanwhile (nothing readable)
    (proc / "self").mkdir()
    return proc


def test_reports_only_this_environments_servers_started_before(tmp_path: Path) -> None:
    site = tmp_path / "site-packages"
    (site / "open_webui").mkdir(parents=True)
    proc = _fake_proc(tmp_path, site)
    assert running.servers_started_before(site / "open_webui", BOOT + 500, proc) == [101, 104]


def test_a_server_started_within_the_margin_is_not_reported(tmp_path: Path) -> None:
    site = tmp_path / "site-packages"
    (site / "open_webui").mkdir(parents=True)
    proc = _fake_proc(tmp_path, site)
    assert running.servers_started_before(site / "open_webui", BOOT + 100.5, proc) == []


def test_without_a_readable_proc_nothing_is_reported(tmp_path: Path) -> None:
    assert running.servers_started_before(tmp_path / "open_webui", BOOT + 500, tmp_path / "no-proc") == []


def test_no_real_server_uses_a_private_copy(package: Path) -> None:
    assert running.servers_started_before(package, 4_000_000_000.0) == []
