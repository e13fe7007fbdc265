"""`StudentMemory`: one student's blocks (read, write, history, restore, diff). Pending diffs are in `lifecycle.py`,
what the student decided (and undo) in `decisions.py`.

All methods are synchronous and take the student's lock; from async code call them through `asyncio.to_thread`.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

import gitdb.exc

from ..config import Course
from ..errors import NotFound
from . import blockfile
from .blockfile import BlockDoc
from .blocks import (
    Block,
    BlockInfo,
    HistoryEntry,
    block_path,
    block_spec,
    changed_fields,
    field_spec,
    load_doc,
    new_doc,
    to_block,
    unified,
)
from .diffs import (
    ARCHIVE_CHUNK,
    DIFFS_DIR,
    PENDING_INDEX,
    DiffStatus,
    PendingDiff,
    archive_path,
    diff_path,
    find_in_archive,
    parse_index,
    render_index,
)
from .decisions import DECISION_COUNTS, DecisionHistory, archived_diffs, counts_after
from .lifecycle import DiffLifecycle
from .repo import BRANCH, StudentRepo, validate_version
from .values import check_value, same_value

if TYPE_CHECKING:
    from .store import MemoryStore


def _without_trailers(message: str | bytes) -> str:
    text = message.decode("utf-8", "replace") if isinstance(message, bytes) else message
    return "\n".join(line for line in text.split("\n") if not line.startswith("Youlab-")).strip()


class StudentMemory(DiffLifecycle, DecisionHistory):
    def __init__(self, store: MemoryStore, user_id: str, repo: StudentRepo):
        self.store = store
        self.user_id = user_id
        self.repo = repo

    def __repr__(self) -> str:
        return f"StudentMemory({self.user_id!r})"

    def _now(self) -> datetime:
        return self.store.clock()

    # ---- blocks ----------------------------------------------------------------------------------------------------

    def _doc(self, course: Course, block: str) -> BlockDoc:
        path = block_path(course, block)
        return load_doc(course, block, self.repo.read_text(path), where=f"{self.user_id}/{path}")

    def list_blocks(self, course: Course) -> list[BlockInfo]:
        infos = []
        with self.repo.locked(exclusive=False):
            for name, spec in course.blocks.items():
                text = self.repo.read_text(block_path(course, name))
                updated = blockfile.parse(text, where=block_path(course, name)).updated_at if text else None
                infos.append(BlockInfo(name, spec.title or name, text is not None, updated))
        return infos

    def read_block(self, course: Course, block: str) -> Block:
        with self.repo.locked(exclusive=False):
            return to_block(self._doc(course, block))

    def read_field(self, course: Course, block: str, field: str) -> Any:
        field_spec(course, block, field)
        return self.read_block(course, block).values[field]

    def write_field(
        self, course: Course, block: str, field: str, value: Any, *, author: str, message: str | None = None
    ) -> str:
        """Set one field (one commit by `author`). Pending diffs of that field that no longer match are marked stale
        in the same commit. Returns the commit id (the current one if the value did not change)."""
        spec = field_spec(course, block, field)
        value = check_value(spec, value, where=f"{block}.{field}")
        self.repo.ensure(owner=self.user_id)
        with self.repo.locked(exclusive=True):
            doc = self._doc(course, block)
            if same_value(doc.values[field], value) and doc.updated_at is not None:
                return self._head()
            doc.values[field], doc.types[field] = value, spec.type
            files = self._block_files(course, doc)
            files.update(self._mark_stale(course, block, {field: value}, by=author))
            text = message or f"Edit {block}.{field}"
            return self.repo.commit(files, message=f"{text}\n\nYoulab-Author: {author}", author=author, when=self._now())

    def _block_files(self, course: Course, doc: BlockDoc) -> dict[str, str | None]:
        doc.updated_at = self._now()
        return {block_path(course, doc.block): blockfile.render(doc)}

    def _mark_stale(
        self, course: Course, block: str, new_values: dict[str, Any], *, by: str
    ) -> dict[str, str | None]:
        """Files that mark stale the pending diffs of these fields whose base value is no longer the field's value."""
        index = parse_index(self.repo.read_text(PENDING_INDEX))
        now = self._now()
        stale = []
        for diff_id, entry in index.items():
            if entry["course"] != course.id or entry["block"] != block or entry["field"] not in new_values:
                continue
            diff = self._load_diff(diff_id)
            if not same_value(diff.current_value, new_values[diff.field]):
                note = f"{diff.target} was changed by {by} before this change was reviewed"
                stale.append(diff.decided(DiffStatus.stale, at=now, by=by, note=note))
        return self._decision_files(stale, index) if stale else {}

    def _decision_files(self, decided: list[PendingDiff], index: dict[str, dict[str, str]]) -> dict[str, str | None]:
        """The changes that record decided diffs: each leaves `pending_diffs/<id>.json` and the pending index, and is
        appended to its day's archive file."""
        files: dict[str, str | None] = {}
        for diff in decided:
            index.pop(diff.id, None)
            files[diff_path(diff.id)] = None
            chunk = 0  # append to the day's last archive file (found by cheap existence checks), or start the next
            while archive_path(diff.id, chunk + 1) in files or self.repo.has_file(archive_path(diff.id, chunk + 1)):
                chunk += 1
            archive = archive_path(diff.id, chunk)
            text = files[archive] if archive in files else self.repo.read_text(archive)
            if text is not None and text.count("\n") >= ARCHIVE_CHUNK:
                archive, text = archive_path(diff.id, chunk + 1), None
            files[archive] = (text or "") + diff.to_json_line()
        files[PENDING_INDEX] = render_index(index)
        if decided:  # the per-agent counts move in the same commit (every diff decided here was pending)
            files[DECISION_COUNTS] = counts_after(self.repo, files, [(diff, "") for diff in decided])
        return files

    def _load_diff(self, diff_id: str) -> PendingDiff:
        text = self.repo.read_text(diff_path(diff_id))
        if text is not None:
            return PendingDiff.from_json(text)
        chunk = 0
        while (archived := self.repo.read_text(archive_path(diff_id, chunk))) is not None:
            found = find_in_archive(archived, diff_id)
            if found is not None:
                return found
            chunk += 1
        raise NotFound(f"student {self.user_id!r} has no pending diff {diff_id!r}")

    def _all_diffs(self) -> list[PendingDiff]:
        """Every diff, pending and decided (reads the whole archive: this is the audit trail)."""
        pending = [
            PendingDiff.from_json(self.repo.read_text(f"{DIFFS_DIR}/{name}") or "")
            for name in self.repo.list_dir(DIFFS_DIR)
            if name.endswith(".json")
        ]
        return pending + archived_diffs(self.repo)

    def _head(self) -> str:
        repo = self.repo.open_git()
        try:
            return repo.head.commit.hexsha
        finally:
            repo.close()

    # ---- history -----------------------------------------------------------------------------------------------------

    def history(self, course: Course, block: str, field: str | None = None, *, limit: int | None = None) -> list[HistoryEntry]:
        """Commits that changed the block (or only `field`), newest first."""
        block_spec(course, block)
        if field is not None:
            field_spec(course, block, field)
        path = block_path(course, block)
        if not self.repo.exists():
            return []
        entries: list[HistoryEntry] = []
        with self.repo.locked(exclusive=False):
            repo = self.repo.open_git()
            try:
                commits = list(repo.iter_commits(BRANCH, paths=path))  # one `git rev-list`
                docs = [self._parse_blob(c, path, course, block) for c in commits]
                for i, (commit, doc) in enumerate(zip(commits, docs)):
                    # The block's first commit changed only what differs from the course's starting values.
                    older = docs[i + 1] if i + 1 < len(docs) else new_doc(course, block)
                    changed = changed_fields(older, doc) if doc is not None else ()
                    if field is not None and field not in changed:
                        continue
                    entries.append(
                        HistoryEntry(
                            version=commit.hexsha,
                            author=commit.author.name or "",
                            committer=commit.committer.name or "",
                            message=_without_trailers(commit.message),
                            at=commit.authored_datetime.astimezone(timezone.utc),
                            fields=changed,
                        )
                    )
                    if limit is not None and len(entries) >= limit:
                        break
            finally:
                repo.close()
        return entries

    def _blob_text(self, commit: Any, path: str) -> str | None:
        try:
            return commit.tree[path].data_stream.read().decode("utf-8")
        except KeyError:
            return None

    def _parse_blob(self, commit: Any, path: str, course: Course, block: str) -> BlockDoc | None:
        text = self._blob_text(commit, path)
        return load_doc(course, block, text, where=f"{path}@{commit.hexsha[:10]}") if text is not None else None

    def _text_at(self, course: Course, block: str, version: str | None) -> str:
        path = block_path(course, block)
        if version is None:
            with self.repo.locked(exclusive=False):
                return self.repo.read_text(path) or ""
        version = validate_version(version)
        if not self.repo.exists():
            raise NotFound(f"student {self.user_id!r} has no history yet")
        repo = self.repo.open_git()
        try:
            try:
                commit = repo.commit(version)
                commit.tree  # noqa: B018 - forces the read, so an unknown id fails here
            except (ValueError, gitdb.exc.BadObject, gitdb.exc.BadName) as exc:
                raise NotFound(f"no version {version!r} in {self.user_id}'s memory") from exc
            text = self._blob_text(commit, path)
        finally:
            repo.close()
        if text is None:
            raise NotFound(f"block {block!r} did not exist yet at version {version[:10]}")
        return text

    def read_at(self, course: Course, block: str, version: str) -> Block:
        block_spec(course, block)
        text = self._text_at(course, block, version)
        return to_block(load_doc(course, block, text, where=f"{block_path(course, block)}@{version[:10]}"))

    def restore(self, course: Course, block: str, version: str, *, author: str) -> str:
        """Make the block what it was at `version`, as a new commit (history is never rewritten)."""
        old = self.read_at(course, block, version)
        self.repo.ensure(owner=self.user_id)
        with self.repo.locked(exclusive=True):
            doc = self._doc(course, block)
            changed = {}
            for name, value in old.values.items():
                if name in doc.values and not same_value(doc.values[name], value):
                    changed[name] = value
                doc.values[name], doc.types[name] = value, old.types[name]
            if not changed and doc.updated_at is not None:
                return self._head()
            files = self._block_files(course, doc)
            files.update(self._mark_stale(course, block, changed, by=author))
            message = f"Restore {block} to version {version[:10]}\n\nYoulab-Author: {author}"
            return self.repo.commit(files, message=message, author=author, when=self._now())

    def diff(self, course: Course, block: str, from_version: str, to_version: str | None = None) -> str:
        """A unified diff of the block file between two versions (`to_version` None: the current file)."""
        block_spec(course, block)
        old = self._text_at(course, block, from_version)
        new = self._text_at(course, block, to_version)
        path = block_path(course, block)
        return unified(old, new, old_label=f"{path}@{from_version[:10]}", new_label=f"{path}@{(to_version or 'now')[:10]}")

