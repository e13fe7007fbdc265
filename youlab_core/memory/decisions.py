"""What a student already decided, kept where the agents can learn from it.

- `StudentMemory.decisions(course)`: the student's approvals, rejections and undos per field, newest first, read
  from the archive of decided diffs. The runner holds back a value the student rejected or undid on that field
  (compared with `values.equivalent`) and tells the dialectic what the student decided, with their notes.
- `StudentMemory.undo(diff_id, ...)`: an approved change the student takes back. The field gets the value it had
  before the approval, as a new commit ("Undo <id>: <target>"), and the diff's archive line becomes status `undone`
  (with `undone_at`, `undone_by`, `undo_note`; the approval's fields are kept). An undone diff counts as rejected.
- `decision_counts.json` (repository root): per course and agent, how many diffs reached each decided status. It is
  updated in the same commit as every decision, so `youlab runs --decisions` reads one small file per student
  instead of the whole archive (a repository from before the file existed is counted from its archive once).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..config import Course
from ..errors import NotFound, StaleDiff
from .blocks import field_spec
from .diffs import ARCHIVE_DIR, DiffClosed, DiffStatus, PendingDiff, archive_path, closed_reason, parse_archive, parse_index
from .ids import validate_diff_id
from .values import InvalidFieldValue, check_value, equivalent, same_value

if TYPE_CHECKING:
    from .blockfile import BlockDoc
    from .repo import StudentRepo
    from .store import MemoryStore

DECISION_COUNTS = "decision_counts.json"
STUDENT_DECISIONS = (DiffStatus.approved, DiffStatus.rejected, DiffStatus.undone)  # what the student chose
REFUSED = (DiffStatus.rejected, DiffStatus.undone)
Counts = dict[str, dict[str, dict[str, int]]]  # course -> agent -> status -> diffs


@dataclass(frozen=True)
class FieldDecisions:
    """A student's decisions on one field (approved, rejected, undone diffs), newest decision first."""

    diffs: tuple[PendingDiff, ...]

    @property
    def refused(self) -> list[PendingDiff]:
        return [d for d in self.diffs if d.status in REFUSED]

    def refusal_of(self, value: Any) -> PendingDiff | None:
        """The newest rejected or undone diff whose value is `value` to the student (`equivalent`), if any."""
        return next((d for d in self.refused if equivalent(d.proposed_value, value)), None)

    def last_refusal_at(self) -> datetime | None:
        times = [d.decided_at for d in self.refused if d.decided_at is not None]
        return max(times) if times else None


def by_field(diffs: Iterable[PendingDiff]) -> dict[tuple[str, str], FieldDecisions]:
    """The student's decisions grouped by (block, field), each newest decision first."""
    grouped: dict[tuple[str, str], list[PendingDiff]] = {}
    for diff in diffs:
        if diff.status in STUDENT_DECISIONS:
            grouped.setdefault((diff.block, diff.field), []).append(diff)
    return {key: FieldDecisions(tuple(sorted(found, key=_decided_key, reverse=True))) for key, found in grouped.items()}


def _decided_key(diff: PendingDiff) -> tuple[str, str]:
    return ((diff.decided_at or diff.created_at).isoformat(), diff.id)


# ---- counts ------------------------------------------------------------------------------------------------------


def count_diffs(diffs: Iterable[PendingDiff], counts: Counts | None = None) -> Counts:
    counts = counts if counts is not None else {}
    for diff in diffs:
        add_count(counts, diff.course, diff.agent, diff.status.value, 1)
    return counts


def add_count(counts: Counts, course: str, agent: str, status: str, n: int) -> None:
    per_status = counts.setdefault(course, {}).setdefault(agent, {})
    per_status[status] = max(0, per_status.get(status, 0) + n)


def parse_counts(text: str | None) -> Counts | None:
    return json.loads(text) if text else None


def render_counts(counts: Counts) -> str:
    return json.dumps(counts, sort_keys=True, indent=1) + "\n"


def archived_diffs(repo: StudentRepo) -> list[PendingDiff]:
    """Every decided diff in the repository's archive (the audit trail: this grows with history)."""
    return [
        diff
        for name in repo.list_dir(ARCHIVE_DIR)
        if name.endswith(".jsonl")
        for diff in parse_archive(repo.read_text(f"{ARCHIVE_DIR}/{name}"))
    ]


def counts_after(repo: StudentRepo, files: Mapping[str, str | None], changes: Iterable[tuple[PendingDiff, str]]) -> str:
    """The new `decision_counts.json` text for a commit that gives each diff its status, `(diff, status before)`
    ("" for a diff that was pending). Call with the student's lock held, before the commit: a repository without
    the file is counted from its archive as it is now."""
    text = files[DECISION_COUNTS] if DECISION_COUNTS in files else repo.read_text(DECISION_COUNTS)
    counts = parse_counts(text)
    if counts is None:
        counts = count_diffs(archived_diffs(repo))
    for diff, before in changes:
        if before:
            add_count(counts, diff.course, diff.agent, before, -1)
        add_count(counts, diff.course, diff.agent, diff.status.value, 1)
    return render_counts(counts)


def student_counts(path: Path) -> tuple[Counts, dict[str, dict[str, int]]]:
    """One student's decided counts and pending counts (course -> agent -> n), read without the lock: every file
    is replaced atomically, and a count that is one decision behind is fine for statistics."""
    from .repo import StudentRepo

    repo = StudentRepo(path)
    decided = parse_counts(repo.read_text(DECISION_COUNTS))
    if decided is None:
        decided = count_diffs(archived_diffs(repo))
    pending: dict[str, dict[str, int]] = {}
    for entry in parse_index(repo.read_text("pending_index.json")).values():
        per_agent = pending.setdefault(entry["course"], {})
        per_agent[entry["agent"]] = per_agent.get(entry["agent"], 0) + 1
    return decided, pending


@dataclass
class TaskDecisions:
    """Per course and task (agent): what its diffs became, over every student."""

    course: str
    task: str
    pending: int = 0
    approved: int = 0
    rejected: int = 0  # rejected outright
    undone: int = 0  # approved, then undone by the student: counts as rejected in the rate
    expired: int = 0
    superseded: int = 0
    stale: int = 0

    @property
    def proposed(self) -> int:
        return (self.pending + self.approved + self.rejected + self.undone + self.expired + self.superseded
                + self.stale)

    @property
    def approval_rate(self) -> float | None:
        """Approved / (approved + rejected + undone): of the changes the student decided, how many they kept.
        None before the first decision."""
        decided = self.approved + self.rejected + self.undone
        return self.approved / decided if decided else None

    def as_json(self) -> dict[str, Any]:
        return {"course": self.course, "task": self.task, "proposed": self.proposed, "pending": self.pending,
                "approved": self.approved, "rejected": self.rejected, "undone": self.undone,
                "expired": self.expired, "superseded": self.superseded, "stale": self.stale,
                "approval_rate": self.approval_rate}


def decision_summary(store: MemoryStore, *, task: str | None = None, course: str | None = None) -> list[TaskDecisions]:
    """Every student's counts added up per (course, task), sorted by course then task."""
    totals: dict[tuple[str, str], TaskDecisions] = {}

    def line(course_id: str, agent: str) -> TaskDecisions:
        return totals.setdefault((course_id, agent), TaskDecisions(course_id, agent))

    for user_id in store.user_ids():
        decided, pending = student_counts(store.users_root / user_id)
        for course_id, agents in decided.items():
            for agent, statuses in agents.items():
                found = line(course_id, agent)
                for status, n in statuses.items():
                    if status in {s.value for s in DiffStatus} and status != "pending":
                        setattr(found, status, getattr(found, status) + n)
        for course_id, per_agent in pending.items():
            for agent, n in per_agent.items():
                line(course_id, agent).pending += n
    return [t for _, t in sorted(totals.items()) if task in (None, t.task) and course in (None, t.course)]


# ---- the StudentMemory side ----------------------------------------------------------------------------------------


class DecisionHistory:
    """Mixed into StudentMemory: the student's decisions per field, and undo."""

    store: MemoryStore
    user_id: str
    repo: StudentRepo

    if TYPE_CHECKING:  # provided by StudentMemory; declared for the type checker only
        def _now(self) -> datetime: ...
        def _doc(self, course: Course, block: str) -> BlockDoc: ...
        def _block_files(self, course: Course, doc: BlockDoc) -> dict[str, str | None]: ...
        def _load_diff(self, diff_id: str) -> PendingDiff: ...
        def _mark_stale(self, course: Course, block: str, new_values: dict[str, Any], *, by: str) -> dict[str, str | None]: ...

    def decisions(self, course: Course | str) -> dict[tuple[str, str], FieldDecisions]:
        """The student's approvals, rejections and undos in `course`, per (block, field), newest first."""
        course_id = course.id if isinstance(course, Course) else course
        with self.repo.locked(exclusive=False):
            diffs = archived_diffs(self.repo)
        return by_field(d for d in diffs if d.course == course_id)

    def undo(self, diff_id: str, *, reviewer: str, note: str = "", course: Course | None = None) -> PendingDiff:
        """Take back an approved change: the field gets the value it had before the approval (one commit by
        `reviewer`; pending diffs of the field that no longer match become stale) and the diff becomes `undone`.
        Raises DiffClosed (the diff is not an approved one) or StaleDiff (the field changed since the approval, so
        undoing would also throw away that later change)."""
        validate_diff_id(diff_id)
        with self.repo.locked(exclusive=True):
            diff = self._load_diff(diff_id)
            if diff.status is DiffStatus.pending:
                raise DiffClosed(f"This proposed change to {diff.target} was never approved; reject it instead.")
            if diff.status is not DiffStatus.approved:
                raise DiffClosed(closed_reason(diff))
            course = self.store.resolve_course(diff.course, course)
            try:
                spec = field_spec(course, diff.block, diff.field)
                before = check_value(spec, diff.current_value, where=diff.target)
            except (NotFound, InvalidFieldValue) as exc:
                raise StaleDiff(f"The course changed since this was approved, so it cannot be undone: {exc}") from None
            doc = self._doc(course, diff.block)
            if not same_value(doc.values[diff.field], diff.proposed_value):
                raise StaleDiff(f"{diff.target} changed after this change was approved, so undoing it would also undo "
                                "the later change. Edit the field yourself or restore an earlier version.")
            now = self._now()
            doc.values[diff.field], doc.types[diff.field] = before, spec.type
            files = self._block_files(course, doc)
            files.update(self._mark_stale(course, diff.block, {diff.field: before}, by=reviewer))
            undone = replace(diff, status=DiffStatus.undone, undone_at=now, undone_by=reviewer, undo_note=note)
            path, text = self._archive_with(undone, files)
            files[path] = text
            files[DECISION_COUNTS] = counts_after(self.repo, files, [(undone, DiffStatus.approved.value)])
            lines = [f"Undo {diff.id}: {diff.target}", "", *([note, ""] if note else []),
                     f"Youlab-Diff: {diff.id}", f"Youlab-Reviewer: {reviewer}"]
            message = "\n".join(lines)
            self.repo.commit(files, message=message, author=reviewer, when=now)
        self.store.notify_approved(self.user_id, course, undone)  # the block changed: Letta sync re-reads it
        return undone

    def _archive_with(self, diff: PendingDiff, files: Mapping[str, str | None]) -> tuple[str, str]:
        """The archive file holding `diff` and its text with the diff's line replaced by `diff`."""
        needle = f'"id": "{diff.id}"'
        chunk = 0
        while True:
            path = archive_path(diff.id, chunk)
            text = files[path] if path in files else self.repo.read_text(path)
            if text is None:
                raise NotFound(f"student {self.user_id!r}: diff {diff.id!r} is not in the archive")
            lines = text.split("\n")
            for i, line in enumerate(lines):
                if needle in line and PendingDiff.from_json(line).id == diff.id:
                    lines[i] = diff.to_json_line().rstrip("\n")
                    return path, "\n".join(lines)
            chunk += 1
