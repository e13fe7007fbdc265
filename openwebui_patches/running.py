"""Which running Open WebUI servers predate a change to its code.

Python reads `main.py` once, when a server starts: a write guard added (or removed) later takes effect only at the
next start. To say so in `youlab patch status`, look for Open WebUI servers of the same Python environment that
started before `main.py` last changed. Linux only (/proc); elsewhere, or for a process we may not inspect, nothing
is reported, which is the same as not knowing."""

from __future__ import annotations

import os
from pathlib import Path

PROC = Path("/proc")
# /proc/stat's boot time is in whole seconds: a server started within this margin of the change is not reported.
MARGIN_SECONDS = 1.0


def _boot_time(proc: Path) -> float | None:
    try:
        for line in (proc / "stat").read_text().splitlines():
            if line.startswith("btime "):
                return float(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return None


def _is_open_webui_server(argv: list[str]) -> bool:
    """`open-webui serve ...` (the console script) or `uvicorn open_webui.main:app ...`."""
    serve = any(Path(arg).name == "open-webui" for arg in argv) and "serve" in argv
    return serve or any(arg.startswith("open_webui.main:") for arg in argv)


def servers_started_before(package_dir: Path, when: float, proc: Path = PROC) -> list[int]:
    """Pids of the Open WebUI servers using `package_dir`'s environment that started before `when` (epoch s)."""
    boot = _boot_time(proc)
    if boot is None:
        return []
    ticks = os.sysconf("SC_CLK_TCK")
    # A server of this environment has loaded a compiled module from its site-packages (pydantic_core at least).
    site_packages = f"{package_dir.resolve().parent}/"
    pids: list[int] = []
    for entry in proc.iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().decode(errors="replace").split("\0")
            if not _is_open_webui_server(argv):
                continue
            # Field 22 (starttime, clock ticks after boot); the command name before ")" may hold spaces.
            started = boot + int((entry / "stat").read_text().rsplit(")", 1)[1].split()[19]) / ticks
            if started >= when - MARGIN_SECONDS:
                continue
            if site_packages not in (entry / "maps").read_text(errors="replace"):
                continue
        except (OSError, ValueError, IndexError):
            continue  # gone meanwhile, or not ours to inspect
        pids.append(int(entry.name))
    return sorted(pids)
