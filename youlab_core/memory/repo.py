"""One student's git repository: creation, the cross-process lock, atomic journaled commits and crash repair.

Every change goes through `StudentRepo.commit(files, ...)` while the student's lock is held:
1. the whole change (every file's new content, message, authors) is written to `.git/youlab-journal.json`;
2. each file is written atomically (temporary file, fsync, rename, fsync of the directory);
3. the files are staged and committed with GitPython (objects and index written in-process, no `git` subprocess),
   and the new objects, the index and then the branch ref are fsynced in that order (durable.py);
4. the journal is removed.
A process killed anywhere in 1-4 leaves either no journal (nothing changed yet) or a complete journal, which the next
holder of the lock replays (steps 2-4 are idempotent): the change is committed whole, never half. The same holds after
a power cut, because each step is on disk before the next begins (durable.py says how; `sync=False` skips the git
fsyncs of step 3, for benchmarks).
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import logging
import os
import re
import secrets
import shutil
from collections.abc import Iterator
from io import BytesIO
from datetime import datetime
from pathlib import Path

import git
from git import Actor, Blob, Commit, IndexFile
from git.index.typ import BaseIndexEntry, IndexEntry
from gitdb.base import IStream

from ..errors import NotFound
from .durable import SyncingGitDB, head_ref, sync_file, sync_objects, sync_tree, write_ref

log = logging.getLogger(__name__)

LOCK_FILE = "youlab.lock"
JOURNAL_FILE = "youlab-journal.json"
BRANCH = "main"
_VERSION = re.compile(r"[0-9a-fA-F]{4,40}")
_README = """# Your YouLab memory

This folder is a git repository that holds what YouLab's background agents have learned with you.

- `memory-blocks/<course>/<block>.md`: one file per memory block, one `## field` section per field.
- `pending_diffs/<id>.json`: each change an agent proposed that waits for your decision.
- `pending_diffs/archive/<day>.jsonl`: decided changes (approved, rejected, ...), one per line, by the day proposed.

Every change is a commit: `git log` shows who proposed what, and who approved or rejected it.
"""
_GITIGNORE = "*.tmp\n"


def actor(who: str) -> Actor:
    """A git identity for an author string such as 'agent:progression-grader' or 'student:42'."""
    local = re.sub(r"[^A-Za-z0-9._+-]+", ".", who).strip(".") or "unknown"
    return Actor(who, f"{local}@youlab.invalid")


def stage(repo: git.Repo, index: IndexFile, relpath: str, data: bytes) -> None:
    """Store `data` as a blob and stage it at `relpath`. GitPython's `IndexFile.add(paths)` would do the same but
    changes the process's working directory while it runs (os.chdir), which breaks every other thread."""
    stored = repo.odb.store(IStream(Blob.type, len(data), BytesIO(data)))
    index.entries[(relpath, 0)] = IndexEntry.from_base(BaseIndexEntry((0o100644, stored.binsha, 0, relpath)))


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write(path: Path, data: bytes, *, sync_dir: bool = True) -> None:
    """Replace `path` with `data` so that a reader (or a crash) sees the old file or the new one, never a mix.
    `sync_dir=False` leaves the directory's fsync (which makes the rename itself durable) to the caller."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    with open(tmp, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)
    if sync_dir:
        fsync_dir(path.parent)


def validate_version(version: object) -> str:
    """A commit id as given by `history()`; anything else could be read by git as an option or a ref expression."""
    if not isinstance(version, str) or not _VERSION.fullmatch(version):
        raise NotFound(f"{version!r} is not a version id (a commit id from the block's history)")
    return version.lower()


class StudentRepo:
    """The git repository at `path` (which may not exist yet)."""

    def __init__(self, path: Path, *, sync: bool = True):
        self.path = path
        self.git_dir = path / ".git"
        self.sync = sync  # fsync git objects, index and ref before a commit returns (docs/memory.md, Power loss)

    # ---- existence -----------------------------------------------------------------------------------------------

    def exists(self) -> bool:
        return (self.git_dir / "HEAD").is_file()

    def ensure(self, *, owner: str) -> None:
        """Create the repository with a first commit if it does not exist. Safe when several processes race:
        the repository is built in a temporary directory and renamed into place, and only one rename wins."""
        if self.exists():
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        staging = self.path.parent / f".tmp-{self.path.name}-{secrets.token_hex(4)}"
        try:
            # An empty template: no sample hooks (they cost ~20 files per student and are never used).
            repo = git.Repo.init(staging, template="", initial_branch=BRANCH, allow_unsafe_options=True)
            for name, text in (("README.md", _README), (".gitignore", _GITIGNORE)):
                atomic_write(staging / name, text.encode())
            (staging / ".git" / LOCK_FILE).touch()
            index = repo.index
            for name, text in (("README.md", _README), (".gitignore", _GITIGNORE)):
                stage(repo, index, name, text.encode())
            index.write()
            who = actor(f"system:create for {owner}")
            index.commit("Create this student's memory", author=who, committer=who, skip_hooks=True)
            repo.close()
            if self.sync:  # the whole new repository on disk before it appears under users/
                sync_tree(staging)
            try:
                os.rename(staging, self.path)
            except OSError as exc:
                if exc.errno not in (errno.EEXIST, errno.ENOTEMPTY) or not self.exists():
                    raise
            if self.sync:
                sync_file(self.path.parent)
        finally:
            if staging.exists():
                shutil.rmtree(staging, ignore_errors=True)

    # ---- locking -------------------------------------------------------------------------------------------------

    @contextlib.contextmanager
    def locked(self, *, exclusive: bool) -> Iterator[None]:
        """Hold the student's lock (flock on `.git/youlab.lock`: held across processes and across threads, since
        each holder opens its own file description). A shared lock is enough to read; a pending journal is
        replayed first, under the exclusive lock."""
        if not self.exists():
            yield  # nothing to lock or repair; writers create the repository first
            return
        with open(self.git_dir / LOCK_FILE, "a+b") as handle:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
            try:
                if self.needs_repair():
                    if not exclusive:
                        fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
                        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
                    self.repair()
                yield
            finally:
                fcntl.flock(handle.fileno(), fcntl.LOCK_UN)

    @contextlib.contextmanager
    def try_locked(self) -> Iterator[bool]:
        """The exclusive lock if nobody holds the student's lock now (yields True, after any crash repair), else
        yields False at once: background upkeep never waits for, nor delays, a student's own operations."""
        if not self.exists():
            yield False
            return
        with open(self.git_dir / LOCK_FILE, "a+b") as handle:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                yield False
                return
            try:
                if self.needs_repair():
                    self.repair()
                yield True
            finally:
                fcntl.flock(handle.fileno(), fcntl.LOCK_UN)

    # ---- reading the working tree --------------------------------------------------------------------------------

    def read_text(self, relpath: str) -> str | None:
        try:
            return (self.path / relpath).read_bytes().decode("utf-8")
        except FileNotFoundError:
            return None

    def has_file(self, relpath: str) -> bool:
        return (self.path / relpath).is_file()

    def list_dir(self, relpath: str) -> list[str]:
        try:
            return sorted(os.listdir(self.path / relpath))
        except FileNotFoundError:
            return []

    def open_git(self) -> git.Repo:
        """A GitPython handle that reads and writes objects in-process (GitDB): an approval spawns no `git`
        process at all, and runs about twice as fast as with the default backend (which starts `git cat-file` and
        `git hash-object` per handle). GitPython deprecates GitDB for large packed repositories of unknown origin;
        these repositories are small, loose and written only by this module."""
        repo = git.Repo(self.path)  # the default backend starts no process until it is used, and it will not be
        # (set afterwards: odbt=GitDB warns on every open); SyncingGitDB records the object files it writes
        repo.odb = SyncingGitDB(os.path.join(repo.common_dir, "objects"))
        return repo

    def head_sha(self) -> str | None:
        """The commit the branch points to, read from the ref file (or packed-refs); None when unreadable."""
        ref = head_ref(self.git_dir)
        try:
            text = (self.git_dir / ref).read_text().strip()
        except (FileNotFoundError, IsADirectoryError):
            packed = self.git_dir / "packed-refs"
            lines = packed.read_text().splitlines() if packed.exists() else []
            text = next((line.split(" ")[0] for line in lines if line.endswith(f" {ref}")), "")
        return text if re.fullmatch(r"[0-9a-f]{40}", text) else None

    def approval_commit(self, diff_id: str) -> str:
        """The commit that approved `diff_id` (one `git log`; its subject names the diff)."""
        repo = self.open_git()
        try:
            return repo.git.log(BRANCH, "-n", "1", "--format=%H", "-F", f"--grep=Approve {diff_id}:").strip()
        finally:
            repo.close()

    def approval_commits(self) -> dict[str, str]:
        """diff id -> the commit that approved it, from one `git log` over the approval commits."""
        repo = self.open_git()
        try:
            out = repo.git.log(BRANCH, "--format=%H %s", "--grep=^Approve ", "--", "pending_diffs")
        finally:
            repo.close()
        found: dict[str, str] = {}
        for line in out.splitlines():
            sha, _, subject = line.partition(" ")
            diff_id = subject.removeprefix("Approve ").split(":", 1)[0]
            found.setdefault(diff_id, sha)
        return found

    # ---- writing ---------------------------------------------------------------------------------------------------

    def commit(
        self, files: dict[str, str | None], *, message: str, author: str, committer: str | None = None, when: datetime
    ) -> str:
        """Write `files` (relative path -> new text, or None to delete the file) and commit them as one commit dated
        `when`. Call with the exclusive lock held. Returns the new commit id."""
        journal = {
            "files": files,
            "message": message,
            "author": author,
            "committer": committer or author,
            "when": when.isoformat(),
            "parent": self.head_sha(),  # for a replay after a power cut, should the ref itself be unreadable
        }
        atomic_write(self.git_dir / JOURNAL_FILE, json.dumps(journal, ensure_ascii=False).encode("utf-8"))
        sha = self._apply(journal)
        (self.git_dir / JOURNAL_FILE).unlink()
        return sha

    def _apply(self, journal: dict, *, replay: bool = False) -> str:
        files: dict[str, str | None] = journal["files"]
        written = sorted(path for path, text in files.items() if text is not None)
        deleted = sorted(path for path, text in files.items() if text is None)
        for relpath in written:
            atomic_write(self.path / relpath, files[relpath].encode("utf-8"), sync_dir=False)  # type: ignore[union-attr]
        for relpath in deleted:
            (self.path / relpath).unlink(missing_ok=True)
        for folder in {(self.path / relpath).parent for relpath in files}:  # once per directory, not per file
            if folder.exists():
                fsync_dir(folder)
        repo = self.open_git()
        try:
            index = self._index(repo, journal) if replay else repo.index
            for relpath in deleted:  # in-process: IndexFile.remove would run `git rm`
                index.entries.pop((relpath, 0), None)
            for relpath in written:
                stage(repo, index, relpath, files[relpath].encode("utf-8"))  # type: ignore[union-attr]
            index.write()
            tree = index.write_tree()
            head = self._head(repo, journal, replay=replay)
            if replay and head is not None and tree.binsha == head.tree.binsha:
                sha = head.hexsha  # the commit was made before the interruption
            else:
                # A replay makes the very same commit (same message, authors, time, tree, parent), so a commit object
                # written just before the interruption is reused instead of left dangling.
                when = datetime.fromisoformat(journal["when"])
                sha = Commit.create_from_tree(
                    repo, tree, journal["message"], parent_commits=[head] if head is not None else [], head=False,
                    author=actor(journal["author"]), committer=actor(journal["committer"]),
                    author_date=when, commit_date=when,
                ).hexsha
            if self.sync:  # everything the ref will name, and the index the next commit starts from, on disk first
                sync_objects(repo.odb)
                sync_file(self.git_dir / "index")
                sync_file(self.git_dir)
            if replay or head is None or sha != head.hexsha:  # a replay rewrites even an equal ref: it may be unsynced
                write_ref(self.git_dir, head_ref(self.git_dir), sha, sync=self.sync)
            return sha
        finally:
            repo.close()

    def _index(self, repo: git.Repo, journal: dict) -> IndexFile:
        """The index for a replay: as on disk, or rebuilt from the last commit if a power cut left it unreadable."""
        index = repo.index
        try:
            index.entries  # noqa: B018 (reads the file)
            return index
        except Exception:  # any parse error: the index is derived data, rebuilt below
            head = self._head(repo, journal, replay=True)
            log.warning("repairing %s: the git index was unreadable; rebuilt from the last commit", self.path)
            (self.git_dir / "index").unlink(missing_ok=True)
            return IndexFile.new(repo, head.tree) if head is not None else IndexFile(repo)

    def _head(self, repo: git.Repo, journal: dict, *, replay: bool) -> Commit | None:
        """The branch's commit; in a replay, the journal's parent when the ref cannot be read."""
        sha = self.head_sha()
        if sha is None and replay:
            sha = journal.get("parent")
        return repo.commit(sha) if sha else None

    # ---- crash repair ----------------------------------------------------------------------------------------------

    def needs_repair(self) -> bool:
        return ((self.git_dir / JOURNAL_FILE).exists() or any(self.git_dir.glob(f".{JOURNAL_FILE}.*.tmp"))
                or bool(self._git_locks()))

    def _git_locks(self) -> list[Path]:
        """git's own lock files (index, HEAD, branch refs and their reflogs)."""
        git = self.git_dir
        return [p for p in [git / "index.lock", git / "HEAD.lock", git / "logs" / "HEAD.lock",
                            *git.glob("refs/heads/*.lock"), *git.glob("logs/refs/heads/*.lock")] if p.exists()]

    def repair(self) -> None:
        """Finish or discard what an interrupted writer left (call with the exclusive lock held)."""
        for stale in self.git_dir.glob(f".{JOURNAL_FILE}.*.tmp"):
            stale.unlink()  # the journal itself was never complete: nothing else was touched
        # Only a writer holding our lock takes git's own locks, and it is gone: these are stale. A writer killed
        # while git updated a ref leaves them (the reflog's lock too), and every later commit would fail on them.
        for stale in self._git_locks():
            stale.unlink(missing_ok=True)
        for stale in (self.git_dir / "objects").glob("obj*"):  # GitDB's temporary object files (mkstemp 'obj')
            stale.unlink(missing_ok=True)
        journal_path = self.git_dir / JOURNAL_FILE
        if not journal_path.exists():
            return
        journal = json.loads(journal_path.read_bytes().decode("utf-8"))
        log.warning("repairing %s: replaying an interrupted change (%s)", self.path, journal["message"].split("\n")[0])
        self._apply(journal, replay=True)
        dirs = {(self.path / relpath).parent for relpath in journal["files"]}
        for folder in dirs:
            for leftover in folder.glob(".*.tmp"):
                leftover.unlink(missing_ok=True)
        journal_path.unlink()
