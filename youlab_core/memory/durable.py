"""Putting a commit on disk before it is acknowledged: fsyncs of the new git objects, the index and the branch ref.

GitPython (through GitDB) writes loose objects and refs itself and never fsyncs them, so a power cut could leave a
ref naming an object that never reached the disk. `StudentRepo.commit` therefore writes in this order, each step
durable before the next begins:
1. the journal (repo.py), then the working files;
2. the objects (blobs, trees, commit) through `SyncingGitDB`, which records each new loose object file, then
   `sync_objects` fsyncs the files, their `objects/xx` folders and, when one was created, `objects/` itself;
3. the index (`sync_file` + its folder), which the next commit builds on;
4. the branch ref, by `write_ref`: `<ref>.lock` written and fsynced, renamed over the ref, folder fsynced;
5. the journal removed (not synced: a journal that comes back after a power cut names a commit already made, and its
   replay changes nothing).
No reflog entry is written: the history is linear and never rewritten, so `git log` already says everything the
reflog would, and the reflog would cost two more fsyncs and ~400 bytes per commit that packing never shrinks.

`SyncingGitDB` also replaces a loose object file that does not hold what its name says (a power cut in the middle of
an interrupted change can leave one empty): GitDB would otherwise keep it, and the replayed commit would point at it.
"""

from __future__ import annotations

import hashlib
import os
import zlib
from io import BytesIO
from pathlib import Path
from typing import Any

from git.db import GitDB
from gitdb.base import IStream


def sync_file(path: str | os.PathLike[str]) -> None:
    """fsync an existing file or directory (opened read-only: enough for fsync on Linux and macOS)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _intact(path: str, binsha: bytes) -> bool:
    """Whether the loose object file at `path` inflates to an object whose sha is `binsha`."""
    try:
        with open(path, "rb") as handle:
            raw = zlib.decompress(handle.read())
    except (OSError, zlib.error):
        return False
    return hashlib.sha1(raw).digest() == binsha


class SyncingGitDB(GitDB):
    """GitDB that remembers the loose object files it creates, so they can be fsynced before a ref names them."""

    def __init__(self, root_path: str):
        super().__init__(root_path)
        self.written: list[str] = []  # new loose object files, in the order written
        self.new_folder = False  # an objects/xx folder was created (then objects/ itself needs an fsync)

    def _loose_path(self, binsha: bytes) -> str:
        hexsha = binsha.hex()
        return os.path.join(self.root_path(), hexsha[:2], hexsha[2:])

    def _drop_if_damaged(self, binsha: bytes) -> None:
        path = self._loose_path(binsha)
        if os.path.exists(path) and not _intact(path, binsha):
            os.unlink(path)  # GitDB keeps an existing file as it is; a damaged one must be written again

    def has_object(self, sha: bytes) -> bool:
        self._drop_if_damaged(sha)
        return bool(super().has_object(sha))

    def store(self, istream: Any) -> Any:
        if istream.binsha is None:  # raw content: hash it first, to know which file it becomes
            data = istream.read()
            kind = istream.type.encode("ascii") if isinstance(istream.type, str) else istream.type
            header = b"%s %d\x00" % (kind, len(data))
            binsha = hashlib.sha1(header + data).digest()
            istream = IStream(istream.type, len(data), BytesIO(data))
        else:  # already compressed, with its sha (trees copied from GitPython's in-memory tree writer)
            binsha = istream.binsha
        self._drop_if_damaged(binsha)
        path = self._loose_path(binsha)
        folder_existed = os.path.isdir(os.path.dirname(path))
        existed = os.path.exists(path)
        stored = super().store(istream)
        if not existed:
            self.written.append(path)
            self.new_folder = self.new_folder or not folder_existed
        return stored


def sync_objects(db: SyncingGitDB) -> None:
    """fsync every object file `db` created, then the folders holding them (once each)."""
    for path in db.written:
        sync_file(path)
    for folder in sorted({os.path.dirname(p) for p in db.written}):
        sync_file(folder)
    if db.new_folder:
        sync_file(db.root_path())


def head_ref(git_dir: Path) -> str:
    """The ref HEAD points to ('refs/heads/main'), or 'HEAD' itself when detached by hand."""
    text = (git_dir / "HEAD").read_text().strip()
    return text.removeprefix("ref:").strip() if text.startswith("ref:") else "HEAD"


def write_ref(git_dir: Path, ref: str, hexsha: str, *, sync: bool) -> None:
    """Point `ref` at `hexsha` the way git does (write `<ref>.lock`, rename it over the ref), durably when `sync`.
    A `.lock` left by a killed writer is removed by crash repair before anyone writes again."""
    path = git_dir / ref
    path.parent.mkdir(parents=True, exist_ok=True)
    lock = path.with_name(path.name + ".lock")
    fd = os.open(lock, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    try:
        os.write(fd, f"{hexsha}\n".encode("ascii"))
        if sync:
            os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(lock, path)
    if sync:
        sync_file(path.parent)


def sync_tree(root: Path) -> None:
    """fsync every file and folder under `root`, deepest first (a new repository, before it is renamed into place)."""
    for folder, _dirs, files in os.walk(root, topdown=False):
        for name in files:
            sync_file(os.path.join(folder, name))
        sync_file(folder)
