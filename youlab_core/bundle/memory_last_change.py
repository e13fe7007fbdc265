"""The memory view's last-change column: for each field of a course, the commit that last changed its value
(docs/memory-view.md). Blocking (it reads git): call it through `asyncio.to_thread`.

Why not `StudentMemory.history` per block: that parses every version of every block (one GitPython tree walk and
one full block parse per commit), seconds for a student with 2,000 commits. Here one `git log --raw` of the course's
block folder lists each commit with the blob before and after of every block file it touched, one
`git cat-file --batch` reads those blobs, and a field changed where its `## field` section differs between the two
(a block's first commit: differs from the course's starting value, as `history` counts it). The walk stops once
every field is found.

The answer is cached per course in the repository's git directory (`youlab-last-change.json`, keyed by the HEAD it
was computed at). History is never rewritten, so a later open walks only the commits since that HEAD; a cache that
is missing, unreadable, lacks a field the course has now, or names a commit that is not an ancestor of HEAD is
simply rebuilt by a full walk.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import threading
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from ..config import Course
from ..errors import YoulabError
from ..memory import blockfile
from ..memory.blocks import block_path, new_doc

log = logging.getLogger(__name__)

CACHE_FILE = "youlab-last-change.json"
_CACHE_VERSION = 1
_ZERO = "0" * 40
_COMMIT, _PART = "\x1e", "\x1f"

Key = tuple[str, str]  # (block, field)


@dataclass(frozen=True)
class LastChange:
    version: str  # the commit id
    at: datetime  # UTC
    author: str  # git author name: "agent:<task>", "student:<id>", ...
    committer: str

    def as_json(self) -> list[str]:
        return [self.version, self.at.isoformat(), self.author, self.committer]

    @classmethod
    def from_json(cls, item: Any) -> LastChange:
        version, at, author, committer = item
        return cls(str(version), datetime.fromisoformat(str(at)), str(author), str(committer))


class _RebuildCache(YoulabError):
    """The cached HEAD is not an ancestor of HEAD (or git refused the range): walk everything."""


def _git(path: Path, *args: str, data: bytes | None = None) -> bytes:
    done = subprocess.run(["git", "-C", str(path), *args], input=data, capture_output=True, check=False)
    if done.returncode != 0:
        raise _RebuildCache(done.stderr.decode("utf-8", "replace").strip())
    return done.stdout


def _commits(path: Path, course: Course, since: str | None, head: str) -> list[tuple[LastChange, list[tuple[str, str, str]]]]:
    """Commits touching the course's block folder, newest first, each with (path, blob before, blob after)."""
    folder = os.path.dirname(block_path(course, next(iter(course.blocks))))
    out = _git(path, "log", f"{since}..{head}" if since else head, f"--format={_COMMIT}%H{_PART}%an{_PART}%cn{_PART}%aI",
               "--raw", "--no-abbrev", "--no-renames", "--", folder + "/").decode("utf-8", "replace")
    commits = []
    for chunk in out.split(_COMMIT)[1:]:
        head_line, _, rest = chunk.partition("\n")
        sha, author, committer, at = head_line.split(_PART)
        files = []
        for line in rest.splitlines():
            if line.startswith(":") and "\t" in line:
                meta, _, file_path = line.partition("\t")
                parts = meta.split()
                files.append((file_path, parts[2], parts[3]))
        when = datetime.fromisoformat(at).astimezone(timezone.utc)
        commits.append((LastChange(sha, when, author, committer), files))
    return commits


def _blobs(path: Path, shas: set[str]) -> dict[str, str]:
    """The blobs' texts, read by one `git cat-file --batch`."""
    if not shas:
        return {}
    ordered = sorted(shas)
    out = _git(path, "cat-file", "--batch", data="".join(f"{s}\n" for s in ordered).encode())
    texts: dict[str, str] = {}
    at = 0
    for sha in ordered:
        end = out.index(b"\n", at)
        header = out[at:end].split()
        at = end + 1
        if len(header) < 3 or header[1] != b"blob":  # "<sha> missing": leave it out, it reads as empty
            continue
        size = int(header[2])
        texts[sha] = out[at:at + size].decode("utf-8", "replace")
        at += size + 1
    return texts


def _walk(path: Path, course: Course, wanted: set[Key], since: str | None, head: str) -> dict[Key, LastChange]:
    blocks = {block_path(course, b): b for b in course.blocks}
    if since is not None:
        _git(path, "merge-base", "--is-ancestor", since, head)  # exit 1 (not an ancestor): walk everything
    commits = _commits(path, course, since, head)
    texts = _blobs(path, {sha for _, files in commits for p, *pair in files if p in blocks
                          for sha in pair if sha != _ZERO})
    starting = {b: blockfile.sections(blockfile.render(new_doc(course, b)), where=b) for b in course.blocks}
    parsed: dict[str, dict[str, str]] = {}

    def sections_of(sha: str, block: str) -> dict[str, str]:
        if sha == _ZERO or sha not in texts:
            return starting[block]
        if sha not in parsed:
            try:
                parsed[sha] = blockfile.sections(texts[sha], where=f"{block}@{sha[:10]}")
            except blockfile.BlockFileError:  # a version edited by hand: every field counts as changed there
                parsed[sha] = {}
        return parsed[sha]

    found: dict[Key, LastChange] = {}
    remaining = set(wanted)
    for change, files in commits:
        for file_path, before, after in files:
            block = blocks.get(file_path)
            if block is None:
                continue
            old, new, start = sections_of(before, block), sections_of(after, block), starting[block]
            for key in [k for k in remaining if k[0] == block]:
                if old.get(key[1], start.get(key[1])) != new.get(key[1], start.get(key[1])):
                    found[key] = change
                    remaining.discard(key)
        if not remaining:
            break
    return found


def _read_cache(git_dir: Path) -> dict[str, Any]:
    try:
        data = json.loads((git_dir / CACHE_FILE).read_text())
    except (OSError, ValueError):
        return {}
    return data.get("courses", {}) if isinstance(data, dict) and data.get("version") == _CACHE_VERSION else {}


def _write_cache(git_dir: Path, courses: dict[str, Any]) -> None:
    """Atomically (readers holding the shared lock may write it at once: the last rename wins, both are right).
    Not fsynced: a lost cache is rebuilt."""
    target = git_dir / CACHE_FILE
    staging = git_dir / f"{CACHE_FILE}.{os.getpid()}.{threading.get_ident()}.tmp"  # one per writer thread
    try:
        staging.write_text(json.dumps({"version": _CACHE_VERSION, "courses": courses}))
        os.replace(staging, target)
    except OSError:
        log.warning("the memory view's cache %s could not be written; the next open walks again", target,
                    exc_info=True)


def last_changes(memory: Any, course: Course) -> dict[Key, LastChange]:
    """(block, field) -> the commit that last changed that field's value; a field never changed is absent."""
    repo = memory.repo
    if not repo.exists() or not course.blocks:
        return {}
    wanted = {(b, f) for b, spec in course.blocks.items() for f in spec.fields}
    with repo.locked(exclusive=False):
        head = repo.head_sha()
        if head is None:
            return {}
        courses = _read_cache(repo.git_dir)
        stored = courses.get(course.id)
        entry: dict[str, Any] = stored if isinstance(stored, dict) else {}
        known: dict[Key, LastChange | None] = {}
        try:
            for name, item in (entry.get("fields") or {}).items():
                block, _, field = str(name).partition(".")
                known[(block, field)] = LastChange.from_json(item) if item else None
        except (AttributeError, TypeError, ValueError):  # a damaged cache: rebuilt below
            known = {}
        since = entry.get("head") if isinstance(entry.get("head"), str) and wanted <= set(known) else None
        if since == head:
            return {k: v for k, v in known.items() if k in wanted and v is not None}
        try:
            found = _walk(repo.path, course, wanted, since, head)
        except _RebuildCache:
            if since is None:
                raise
            since, found = None, _walk(repo.path, course, wanted, None, head)
        merged: dict[Key, LastChange | None] = {**known, **found} if since else {**dict.fromkeys(wanted), **found}
        courses[course.id] = {"head": head, "fields": {f"{b}.{f}": (v.as_json() if v else None)
                                                       for (b, f), v in merged.items()}}
        _write_cache(repo.git_dir, courses)
    return {k: v for k, v in merged.items() if k in wanted and v is not None}


__all__ = ["CACHE_FILE", "LastChange", "last_changes"]
