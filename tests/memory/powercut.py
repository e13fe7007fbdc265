"""A model of what a power cut keeps, for the durability tests.

`Recorder` wraps os.fsync, os.rename/os.replace (and GitDB's own reference to rename) and os.unlink while a change is
written: it logs each call in order, can stop the process at the k-th one (`PowerCut`), and afterwards `cut()` turns
the folder into what a disk could hold after losing power at that moment:
- "reverted": a file written since the snapshot survives only if its data was fsynced and its folder was fsynced
  after it got its name (otherwise the old file comes back, or it vanishes); an unlinked file comes back unless its
  folder was fsynced after the unlink. This is what POSIX promises and no more.
- "emptied": every name change survives, but a file whose data was never fsynced is left empty (ext4 without
  auto_da_alloc, and most filesystems after a delayed allocation).
New folders are assumed to survive (the code under test fsyncs objects/ when it creates one).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import gitdb.db.loose
import pytest


class PowerCut(BaseException):
    """Raised at the chosen call: nothing in the code under test catches it, like the power going off."""


def snapshot(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}


@dataclass
class Recorder:
    root: Path
    cut_at: int | None = None  # stop before the cut_at-th call (1-based); None: run to the end
    events: list[tuple[str, str]] = field(default_factory=list)  # (fsync|fsync-dir|rename|unlink, path)
    before: dict[str, bytes] = field(default_factory=dict)
    file_synced: dict[int, int] = field(default_factory=dict)  # inode -> event number of its last fsync
    dir_synced: dict[str, int] = field(default_factory=dict)  # folder -> event number of its last fsync
    named_at: dict[str, int] = field(default_factory=dict)  # path -> event number of the rename that named it
    unlinked: dict[str, tuple[bytes, int]] = field(default_factory=dict)  # path -> (content, event number)

    def _event(self, kind: str, path: str) -> int:
        if self.cut_at is not None and len(self.events) + 1 >= self.cut_at:
            raise PowerCut(f"before {kind} {path}")
        self.events.append((kind, path))
        return len(self.events)

    @contextmanager
    def watching(self, monkeypatch: pytest.MonkeyPatch) -> Iterator[Recorder]:
        self.before = snapshot(self.root)
        real_fsync, real_rename, real_replace, real_unlink = os.fsync, os.rename, os.replace, os.unlink

        def fsync(fd: int) -> None:
            path = os.readlink(f"/proc/self/fd/{fd}")
            is_dir = os.path.isdir(path)
            number = self._event("fsync-dir" if is_dir else "fsync", path)
            real_fsync(fd)
            if is_dir:
                self.dir_synced[path] = number
            else:
                self.file_synced[os.fstat(fd).st_ino] = number

        def renamer(real: Any) -> Any:
            def rename(src: Any, dst: Any, *args: Any, **kwargs: Any) -> None:
                number = self._event("rename", os.fspath(dst))
                real(src, dst, *args, **kwargs)
                self.named_at[os.path.abspath(dst)] = number
            return rename

        def unlink(path: Any, *args: Any, **kwargs: Any) -> None:
            target = os.path.abspath(path)
            content = Path(target).read_bytes() if os.path.isfile(target) else None
            number = self._event("unlink", target)
            real_unlink(path, *args, **kwargs)
            if content is not None:
                self.unlinked[target] = (content, number)

        monkeypatch.setattr(os, "fsync", fsync)
        monkeypatch.setattr(os, "rename", renamer(real_rename))
        monkeypatch.setattr(os, "replace", renamer(real_replace))
        monkeypatch.setattr(os, "unlink", unlink)
        monkeypatch.setattr(gitdb.db.loose, "rename", renamer(real_rename))
        try:
            yield self
        finally:
            monkeypatch.undo()

    def _durable(self, path: Path) -> bool:
        synced = self.file_synced.get(path.stat().st_ino)
        if synced is None:
            return False
        named = max(synced, self.named_at.get(str(path), 0))
        return self.dir_synced.get(str(path.parent), 0) > named

    def cut(self, mode: str) -> None:
        """Leave on disk only what survives a power cut now (see the module docstring)."""
        for path in [p for p in self.root.rglob("*") if p.is_file()]:
            rel = str(path.relative_to(self.root))
            if self.before.get(rel) == path.read_bytes():
                continue  # unchanged
            if mode == "emptied":
                if path.stat().st_ino not in self.file_synced:
                    path.write_bytes(b"")
            elif not self._durable(path):
                if rel in self.before:
                    path.write_bytes(self.before[rel])
                else:
                    path.unlink()
        if mode == "reverted":
            for target, (content, number) in self.unlinked.items():
                if self.dir_synced.get(os.path.dirname(target), 0) <= number and not os.path.exists(target):
                    Path(target).write_bytes(content)
