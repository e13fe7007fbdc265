"""The record of an applied patch: for each file it wrote, the original's hash and backup, and the hash of every
version the patch has written there (so a later apply can update, and revert can tell our bytes from someone
else's). It lives in `<open_webui>/.youlab-patch/`, beside (not inside) the folders Open WebUI serves: the front-end
part's at its top (where earlier versions put it), the server part's in its `server/` subfolder."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from youlab_core.errors import YoulabError

from .assets import PATCH_ID

STATE_DIR_NAME = ".youlab-patch"
MANIFEST_NAME = "manifest.json"
ORIGINALS_DIR = "originals"
FORMAT = 1
# Hashes kept per file: enough to recognise any recent version of the patch without growing forever.
WRITTEN_HISTORY = 20


class ManifestError(YoulabError):
    """The patch's manifest is unreadable or does not belong to this patch."""


@dataclass
class FileRecord:
    original_sha256: str | None  # None: the file did not exist before the patch
    written_sha256: list[str] = field(default_factory=list)  # every version the patch wrote, newest last

    def remember(self, digest: str) -> None:
        if digest in self.written_sha256:
            self.written_sha256.remove(digest)
        self.written_sha256.append(digest)
        del self.written_sha256[:-WRITTEN_HISTORY]


@dataclass
class Manifest:
    open_webui_version: str
    static_dir: str  # the folder holding the patched files (for the server part: the package itself)
    files: dict[str, FileRecord] = field(default_factory=dict)
    applied_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))
    patch: str = PATCH_ID
    format: int = FORMAT

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, sort_keys=True) + "\n"

    @classmethod
    def from_json(cls, text: str, where: Path, patch: str = PATCH_ID) -> Manifest:
        try:
            raw = json.loads(text)
            if raw.get("patch") != patch or raw.get("format") != FORMAT:
                raise ManifestError(f"{where}: not a {patch} manifest of format {FORMAT}")
            files = {
                name: FileRecord(rec["original_sha256"], list(rec["written_sha256"]))
                for name, rec in raw["files"].items()
            }
            return cls(
                open_webui_version=raw["open_webui_version"],
                static_dir=raw["static_dir"],
                files=files,
                applied_at=raw["applied_at"],
                patch=patch,
            )
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise ManifestError(f"{where}: unreadable patch manifest ({exc})") from exc


class PatchStore:
    """The state of one part of the patch on one Open WebUI package: manifest plus byte-exact backups of the
    originals. `part` is the subfolder of `.youlab-patch/` (empty: the front-end part, at the top)."""

    def __init__(self, package_dir: Path, part: str = "", patch: str = PATCH_ID):
        self.top = package_dir / STATE_DIR_NAME
        self.root = self.top / part if part else self.top
        self.manifest_path = self.root / MANIFEST_NAME
        self.patch = patch

    def exists(self) -> bool:
        return self.manifest_path.is_file()

    def load(self) -> Manifest | None:
        if not self.manifest_path.is_file():
            return None
        return Manifest.from_json(self.manifest_path.read_text(encoding="utf-8"), self.manifest_path, self.patch)

    def save(self, manifest: Manifest) -> None:
        data = manifest.to_json().encode()
        if self.manifest_path.is_file() and self.manifest_path.read_bytes() == data:
            return  # applying twice changes nothing, not even the manifest's modification time
        self.root.mkdir(parents=True, exist_ok=True)
        write_atomic(self.manifest_path, data)

    def backup(self, source: Path) -> None:
        """Keep a byte-exact copy (mode and times too) of an original file."""
        target = self.root / ORIGINALS_DIR / source.name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target)

    def original(self, name: str) -> Path:
        return self.root / ORIGINALS_DIR / name

    def remove(self) -> None:
        """Forget this part (its manifest and backups), leaving the other part's state alone."""
        self.manifest_path.unlink(missing_ok=True)
        shutil.rmtree(self.root / ORIGINALS_DIR, ignore_errors=True)
        for folder in (self.root, self.top):
            with contextlib.suppress(OSError):  # not empty: the other part is still applied
                folder.rmdir()


def write_atomic(path: Path, data: bytes) -> None:
    """Replace `path` with `data` so a reader (or a crash) never sees half a file."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
