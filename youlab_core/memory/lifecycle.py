"""The pending-diff lifecycle of one student: propose, approve, reject, expire, list and count.

Every transition is one commit that carries all of its effects (the diff file, the block, the pending index, the
diffs it supersedes), so a crash never leaves an approval applied but not recorded, or recorded but not applied.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from ..config import Course, MergeStrategy
from ..errors import NotFound, ProposalRefused, StaleDiff
from .blocks import field_spec
from .diffs import (
    PENDING_INDEX,
    Confidence,
    DiffClosed,
    DiffStatus,
    PendingDiff,
    closed_reason,
    index_entry,
    parse_index,
    render_index,
)
from .ids import new_diff_id, validate_diff_id
from .values import InvalidFieldValue, check_value, same_value

if TYPE_CHECKING:
    from .blockfile import BlockDoc
    from .repo import StudentRepo
    from .store import MemoryStore



class _Unset:
    def __repr__(self) -> str:
        return "UNSET"


UNSET: Any = _Unset()


@dataclass(frozen=True)
class Proposal:
    """One proposed change for `propose_many` (the arguments of `propose` that differ per field)."""

    block: str
    field: str
    operation: MergeStrategy | str
    proposed_value: Any
    reasoning: str
    confidence: Confidence | str
    source_query: str
    note: str = ""
    based_on: Any = UNSET


def _proposal_message(made: list[PendingDiff], run_id: str) -> str:
    if len(made) == 1:
        diff = made[0]
        head = f"Propose {diff.operation.value} of {diff.target} ({diff.id})\n\n{_short(diff.proposed_value, 400)}"
    else:
        lines = [f"- {d.operation.value} of {d.target} ({d.id}): {_short(d.proposed_value, 100)}" for d in made]
        head = f"Propose {len(made)} changes (run {run_id})\n\n" + "\n".join(lines)
    trailers = "\n".join(f"Youlab-Diff: {d.id}" for d in made)
    return f"{head}\n\n{trailers}\nYoulab-Run: {run_id}"


def _short(value: Any, limit: int = 120) -> str:
    text = value if isinstance(value, str) else repr(value)
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


class DiffLifecycle:
    """Mixed into StudentMemory (which provides the repository, the clock and block access)."""

    store: MemoryStore
    user_id: str
    repo: StudentRepo

    if TYPE_CHECKING:  # provided by StudentMemory; declared for the type checker only, so nothing shadows them
        def _now(self) -> datetime: ...
        def _doc(self, course: Course, block: str) -> BlockDoc: ...
        def _block_files(self, course: Course, doc: BlockDoc) -> dict[str, str | None]: ...
        def _load_diff(self, diff_id: str) -> PendingDiff: ...
        def _all_diffs(self) -> list[PendingDiff]: ...
        def _decision_files(self, decided: list[PendingDiff], index: dict[str, dict[str, str]]) -> dict[str, str | None]: ...

    # ---- propose -----------------------------------------------------------------------------------------------------

    def propose(
        self,
        course: Course,
        *,
        agent: str,
        run_id: str,
        block: str,
        field: str,
        operation: MergeStrategy | str,
        proposed_value: Any,
        reasoning: str,
        confidence: Confidence | str,
        source_query: str,
        note: str = "",
        based_on: Any = UNSET,
    ) -> PendingDiff:
        """Record a proposed change of one field (one commit, author `agent:<agent>`).

        `based_on` is the field value the proposal was computed from; if the field has changed since, the proposal
        would show the student a wrong "before", so it is refused with StaleDiff (compute it again)."""
        field_spec(course, block, field)  # NotFound for an unknown block or field
        proposal = Proposal(block, field, operation, proposed_value, reasoning, confidence, source_query, note, based_on)
        (outcome,) = self.propose_many(course, [proposal], agent=agent, run_id=run_id)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    def propose_many(
        self, course: Course, proposals: Sequence[Proposal], *, agent: str, run_id: str
    ) -> list[PendingDiff | StaleDiff | ProposalRefused]:
        """Record several proposals of one agent run in ONE commit. Each is checked like `propose`; a refused or
        stale one is returned in its slot (as the exception) without stopping the others."""
        outcomes: list[PendingDiff | StaleDiff | ProposalRefused] = []
        checked: list[tuple[int, Proposal, Any, MergeStrategy, Confidence]] = []
        for proposal in proposals:
            try:
                spec = field_spec(course, proposal.block, proposal.field)
                value = check_value(spec, proposal.proposed_value, where=f"{proposal.block}.{proposal.field}")
                operation, confidence = MergeStrategy(proposal.operation), Confidence(proposal.confidence)
            except (NotFound, InvalidFieldValue, ValueError) as exc:
                outcomes.append(ProposalRefused(str(exc)))
                continue
            checked.append((len(outcomes), proposal, value, operation, confidence))
            outcomes.append(ProposalRefused("not recorded"))  # replaced below
        if not checked:
            return outcomes
        self.repo.ensure(owner=self.user_id)
        with self.repo.locked(exclusive=True):
            now = self._now()
            head = self._head_unlocked()
            index = parse_index(self.repo.read_text(PENDING_INDEX))
            files: dict[str, str | None] = {}
            made: list[PendingDiff] = []
            docs: dict[str, BlockDoc] = {}
            for slot, proposal, value, operation, confidence in checked:
                if proposal.block not in docs:
                    docs[proposal.block] = self._doc(course, proposal.block)
                current = docs[proposal.block].values[proposal.field]
                if proposal.based_on is not UNSET and not same_value(current, proposal.based_on):
                    outcomes[slot] = StaleDiff(
                        f"{proposal.block}.{proposal.field} changed while the agent was working; "
                        "propose again from its new value"
                    )
                    continue
                diff = PendingDiff(
                    id=new_diff_id(now),
                    user_id=self.user_id,
                    course=course.id,
                    agent=agent,
                    run_id=run_id,
                    block=proposal.block,
                    field=proposal.field,
                    field_type=field_spec(course, proposal.block, proposal.field).type,
                    operation=operation,
                    current_value=current,
                    proposed_value=value,
                    reasoning=proposal.reasoning,
                    confidence=confidence,
                    source_query=proposal.source_query,
                    base_commit=head,
                    status=DiffStatus.pending,
                    created_at=now,
                    note=proposal.note,
                )
                index[diff.id] = index_entry(diff)
                files[diff.path()] = diff.to_json()
                made.append(diff)
                outcomes[slot] = diff
            if made:
                files[PENDING_INDEX] = render_index(index)
                self.repo.commit(files, message=_proposal_message(made, run_id), author=f"agent:{agent}", when=now)
        return outcomes

    def _head_unlocked(self) -> str:
        repo = self.repo.open_git()
        try:
            return repo.head.commit.hexsha
        finally:
            repo.close()

    # ---- decide ------------------------------------------------------------------------------------------------------

    def approve(self, diff_id: str, *, reviewer: str, note: str = "", course: Course | None = None) -> PendingDiff:
        """Apply exactly the proposed value to that one field (author `agent:<agent>`, committer `reviewer`), and
        mark the other pending diffs of the field superseded, in one commit. Raises StaleDiff (the field changed
        since the proposal; the diff is marked stale) or DiffClosed (already decided or expired)."""
        validate_diff_id(diff_id)
        with self.repo.locked(exclusive=True):
            diff = self._pending(diff_id, reviewer)
            course = self.store.resolve_course(diff.course, course)
            now = self._now()
            try:
                spec = field_spec(course, diff.block, diff.field)
                value = check_value(spec, diff.proposed_value, where=diff.target)
            except (NotFound, InvalidFieldValue) as exc:
                reason = f"The course changed since this was proposed, so it cannot be applied: {exc}"
                self._close(diff, DiffStatus.stale, reviewer, reason)
                raise StaleDiff(reason) from None
            doc = self._doc(course, diff.block)
            current = doc.values[diff.field]
            if not same_value(current, diff.current_value):
                reason = (
                    f"{diff.target} changed after the agent proposed this, so the change no longer applies as shown. "
                    f"It was {_short(diff.current_value)!s} then; it is {_short(current)!s} now. "
                    "Edit the field yourself or wait for the agent's next proposal."
                )
                self._close(diff, DiffStatus.stale, reviewer, reason)
                raise StaleDiff(reason)
            doc.values[diff.field], doc.types[diff.field] = value, spec.type
            files = self._block_files(course, doc)
            index = parse_index(self.repo.read_text(PENDING_INDEX))
            approved = diff.decided(DiffStatus.approved, at=now, by=reviewer, note=note)
            decided = [approved]
            for other_id, entry in index.items():
                if other_id != diff.id and (entry["course"], entry["block"], entry["field"]) == (
                    diff.course, diff.block, diff.field
                ):
                    other = self._load_diff(other_id)
                    decided.append(other.decided(DiffStatus.superseded, at=now, by=reviewer, note=f"superseded by {diff.id}"))
            superseded = [d.id for d in decided[1:]]
            # The applied commit's id is only known once the commit exists, and the archive line is part of it: the
            # line keeps applied_commit empty and readers fill it in from git (the commit's subject names the diff).
            files.update(self._decision_files(decided, index))
            lines = [f"Approve {diff.id}: {diff.operation.value} of {diff.target}", "", _short(value, 400), ""]
            if superseded:
                lines.append(f"Supersedes: {', '.join(superseded)}")
            lines += [f"Youlab-Diff: {diff.id}", f"Youlab-Reviewer: {reviewer}"]
            sha = self.repo.commit(
                files, message="\n".join(lines), author=f"agent:{diff.agent}", committer=reviewer, when=now
            )
            approved = approved.decided(DiffStatus.approved, at=now, by=reviewer, note=note, commit=sha)
        self.store.notify_approved(self.user_id, course, approved)
        return approved

    def reject(self, diff_id: str, *, reviewer: str, note: str = "") -> PendingDiff:
        validate_diff_id(diff_id)
        with self.repo.locked(exclusive=True):
            diff = self._pending(diff_id, reviewer)
            return self._close(diff, DiffStatus.rejected, reviewer, note)

    def _pending(self, diff_id: str, reviewer: str) -> PendingDiff:
        """The diff, if it can still be decided (expiring it first if it is too old)."""
        diff = self._load_diff(diff_id)
        if diff.status is DiffStatus.pending and self._is_expired(diff, self._now()):
            note = f"pending for more than {self.store.expiry_days} days"
            diff = self._close(diff, DiffStatus.expired, "system:expiry", note)
        if diff.status is DiffStatus.stale:
            raise StaleDiff(f"{closed_reason(diff)} {diff.review_note}".strip())
        if diff.status is not DiffStatus.pending:
            raise DiffClosed(closed_reason(diff))
        return diff

    def _close(self, diff: PendingDiff, status: DiffStatus, by: str, note: str) -> PendingDiff:
        closed = diff.decided(status, at=self._now(), by=by, note=note)
        files = self._decision_files([closed], parse_index(self.repo.read_text(PENDING_INDEX)))
        verb = {DiffStatus.rejected: "Reject", DiffStatus.stale: "Mark stale", DiffStatus.expired: "Expire"}[status]
        message = f"{verb} {diff.id} ({diff.target})\n\n{note}\n\nYoulab-Diff: {diff.id}\nYoulab-Reviewer: {by}"
        self.repo.commit(files, message=message, author=by, when=self._now())
        return closed

    def _is_expired(self, diff: PendingDiff, now: datetime) -> bool:
        return now - diff.created_at > timedelta(days=self.store.expiry_days)

    def expire(self, now: datetime | None = None) -> list[PendingDiff]:
        """Mark expired every pending diff older than the store's expiry_days (one commit). Returns them."""
        if not self.repo.exists():
            return []
        now = now or self._now()
        limit = timedelta(days=self.store.expiry_days)
        with self.repo.locked(exclusive=True):
            index = parse_index(self.repo.read_text(PENDING_INDEX))
            old = [i for i, e in index.items() if now - datetime.fromisoformat(e["created_at"]) > limit]
            if not old:
                return []
            note = f"pending for more than {self.store.expiry_days} days"
            expired = [
                self._load_diff(diff_id).decided(DiffStatus.expired, at=now, by="system:expiry", note=note)
                for diff_id in old
            ]
            files = self._decision_files(expired, index)
            message = f"Expire {len(old)} pending diff(s)\n\n" + "\n".join(f"Youlab-Diff: {i}" for i in old)
            self.repo.commit(files, message=message, author="system:expiry", when=self._now())
        return expired

    # ---- read ----------------------------------------------------------------------------------------------------------

    def get_diff(self, diff_id: str) -> PendingDiff:
        validate_diff_id(diff_id)
        with self.repo.locked(exclusive=False):
            diff = self._load_diff(diff_id)
            if diff.status in (DiffStatus.approved, DiffStatus.undone) and not diff.applied_commit:
                diff = replace(diff, applied_commit=self.repo.approval_commit(diff.id))
            return diff

    def list_diffs(
        self,
        status: DiffStatus | str | None = None,
        agent: str | None = None,
        course: Course | str | None = None,
        block: str | None = None,
        field: str | None = None,
    ) -> list[PendingDiff]:
        """Diffs matching every filter given, newest first. Pending diffs come from the pending index; other
        statuses read the archive too (the whole audit trail, so that grows with history)."""
        status = DiffStatus(status) if status is not None else None
        course_id = course.id if isinstance(course, Course) else course
        wanted = {"agent": agent, "course": course_id, "block": block, "field": field}
        with self.repo.locked(exclusive=False):
            if status is DiffStatus.pending:
                index = parse_index(self.repo.read_text(PENDING_INDEX))
                ids = [i for i, e in index.items() if all(v is None or e[k] == v for k, v in wanted.items())]
                diffs = [self._load_diff(i) for i in ids]
            else:
                diffs = self._all_diffs()
            was_applied = (DiffStatus.approved, DiffStatus.undone)
            if any(d.status in was_applied and not d.applied_commit for d in diffs):
                applied = self.repo.approval_commits()
                diffs = [
                    replace(d, applied_commit=applied.get(d.id, "")) if d.status in was_applied else d
                    for d in diffs
                ]
        diffs = [
            d
            for d in diffs
            if (status is None or d.status is status)
            and all(v is None or getattr(d, k) == v for k, v in wanted.items())
        ]
        return sorted(diffs, key=lambda d: (d.created_at, d.id), reverse=True)

    def counts(
        self, agent: str | None = None, course: Course | str | None = None, block: str | None = None
    ) -> dict[str, Any]:
        """Pending diffs: {"total": n, "by_agent": {...}, "by_block": {...}} restricted by the filters given."""
        course_id = course.id if isinstance(course, Course) else course
        with self.repo.locked(exclusive=False):
            index = parse_index(self.repo.read_text(PENDING_INDEX))
        by_agent: dict[str, int] = {}
        by_block: dict[str, int] = {}
        total = 0
        for entry in index.values():
            if (agent and entry["agent"] != agent) or (course_id and entry["course"] != course_id) or (
                block and entry["block"] != block
            ):
                continue
            total += 1
            by_agent[entry["agent"]] = by_agent.get(entry["agent"], 0) + 1
            key = f"{entry['course']}/{entry['block']}"
            by_block[key] = by_block.get(key, 0) + 1
        return {"total": total, "by_agent": by_agent, "by_block": by_block}
