"""Saved copies of the last valid version of each course file, so that a restart with a broken file keeps the course.

The registry keeps the last good version of a file that breaks in memory; without a copy on disk a restart (an
upgrade, a crashed worker) would find only the broken file and drop the course. A copy is the exact bytes that
validated, stored at `<root>/<path relative to the config dir>` and written atomically (temp file, then rename), so
a crash never leaves half a file. Copies are validated again when read: a copy an upgrade made invalid is reported,
not trusted. Failing to write a copy is logged and never stops a reload: the course still runs from memory.
"""

from __future__ import annotations

import logging
import os
import tempfile
from pathlib import Path, PurePosixPath

log = logging.getLogger(__name__)


class LastGoodCopies:
    """The copies under one directory, addressed by a course file's path relative to the config directory."""

    def __init__(self, root: str | Path):
        self.root = Path(root)

    def path_for(self, relative: PurePosixPath) -> Path:
        if relative.is_absolute() or ".." in relative.parts:
            raise ValueError(f"not a path inside the config directory: {relative}")
        return self.root.joinpath(*relative.parts)

    def load(self, relative: PurePosixPath) -> bytes | None:
        """The saved bytes, or None when there is no copy (or it cannot be read, which is logged)."""
        path = self.path_for(relative)
        try:
            return path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            log.warning("the saved last good copy %s cannot be read (%s)", path, exc.strerror or exc)
            return None

    def save(self, relative: PurePosixPath, data: bytes) -> bool:
        """Store `data` as the copy unless it already is; True when the copy now holds `data`."""
        path = self.path_for(relative)
        try:
            if path.read_bytes() == data:
                return True
        except OSError:
            pass  # no copy yet, or an unreadable one: write it
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
            try:
                with os.fdopen(fd, "wb") as out:
                    out.write(data)
                    out.flush()
                    os.fsync(out.fileno())
                os.replace(tmp, path)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
        except OSError as exc:
            log.warning("the last good copy of %s could not be saved to %s (%s); it is kept in memory only",
                        relative, path, exc.strerror or exc)
            return False
        return True

    def remove(self, relative: PurePosixPath) -> None:
        """Forget the copy (the course file was deleted); empty folders it leaves are removed too."""
        path = self.path_for(relative)
        try:
            path.unlink(missing_ok=True)
        except OSError as exc:
            log.warning("the saved last good copy %s could not be removed (%s)", path, exc.strerror or exc)
            return
        folder = path.parent
        while folder != self.root and self.root in folder.parents:
            try:
                folder.rmdir()  # only succeeds when empty
            except OSError:
                break
            folder = folder.parent
