"""Find the installed Open WebUI package and tell which version it is, without importing it (importing
open_webui runs its config module, which rewrites STATIC_DIR and touches the database)."""

from __future__ import annotations

import importlib.metadata
import importlib.util
from email.parser import HeaderParser
from pathlib import Path

from youlab_core.errors import YoulabError

DISTRIBUTION = "open-webui"


class OpenWebUINotFound(YoulabError):
    """No usable Open WebUI package where we looked."""


def installed_package_dir() -> Path:
    """The directory of the importable `open_webui` package."""
    spec = importlib.util.find_spec("open_webui")
    if spec is None or not spec.submodule_search_locations:
        raise OpenWebUINotFound(
            "Open WebUI is not installed in this Python environment (no importable open_webui package); "
            "install open-webui==0.12.4 or pass the package directory explicitly"
        )
    return Path(next(iter(spec.submodule_search_locations))).resolve()


def frontend_static_dir(package_dir: Path) -> Path:
    """`open_webui/frontend/static`: the source Open WebUI copies into STATIC_DIR at every start."""
    static = package_dir / "frontend" / "static"
    if not static.is_dir():
        raise OpenWebUINotFound(f"{package_dir} is not an Open WebUI package with a built frontend: {static} is missing")
    return static


def package_version(package_dir: Path) -> str:
    """The Open WebUI version installed at `package_dir`.

    Read from the `open_webui-<version>.dist-info` next to the package (so a copy of the package in a test folder
    reports its own version), falling back to the environment's metadata for the importable package.
    """
    package_dir = package_dir.resolve()
    for info in sorted(package_dir.parent.glob("open_webui-*.dist-info")):
        metadata = info / "METADATA"
        if not metadata.is_file():
            continue
        headers = HeaderParser().parsestr(metadata.read_text(encoding="utf-8", errors="replace"))
        if (headers.get("Name") or "").strip().lower().replace("_", "-") == DISTRIBUTION and headers.get("Version"):
            return headers["Version"].strip()
    try:
        if installed_package_dir() == package_dir:
            return importlib.metadata.version(DISTRIBUTION)
    except (OpenWebUINotFound, importlib.metadata.PackageNotFoundError):
        pass
    raise OpenWebUINotFound(
        f"cannot tell which Open WebUI version is in {package_dir}: "
        f"no open_webui-*.dist-info/METADATA next to it names {DISTRIBUTION!r}"
    )
