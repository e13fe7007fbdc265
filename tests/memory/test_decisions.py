"""What a student decided, per field, and undo: `StudentMemory.decisions`, `StudentMemory.undo`, the decision
counts kept in `decision_counts.json` and `decision_summary` over every student."""

from __future__ import annotations

import json
from typing import Any

import pytest

from youlab_core.config import Course
from youlab_core.errors import StaleDiff
from youlab_core.memory import DiffClosed, DiffStatus, MemoryStore, PendingDiff, StudentMemory
from youlab_core.memory.decisions import DECISION_COUNTS, decision_summary

from .conftest import FakeClock, assert_clean_worktree, assert_fsck_clean, git


def propose(memory: StudentMemory, course: Course, value: Any, field: str = "notes", agent: str = "observer",
            block: str = "profile") -> PendingDiff:
    return memory.propose(course, agent=agent, run_id="run-1", block=block, field=field, operation="replace",
                          proposed_value=value, reasoning="they said so", confidence="high", source_query="Q?")


def counts_file(store: MemoryStore, user: str = "s1") -> dict[str, Any]:
    return json.loads((store.users_root / user / DECISION_COUNTS).read_text())


def test_decisions_per_field_newest_first_with_notes(store: MemoryStore, course: Course, clock: FakeClock) -> None:
    memory = store.student("s1")
    first = propose(memory, course, "Stanford")
    memory.reject(first.id, reviewer="student:s1", note="not decided yet")
    clock.advance(hours=1)
    second = propose(memory, course, "Reed")
    memory.approve(second.id, reviewer="student:s1", note="yes")
    expired = propose(memory, course, "done", field="status")
    clock.advance(days=31)
    memory.expire()
    found = memory.decisions(course)
    assert set(found) == {("profile", "notes")}  # an expired diff is not a decision of the student
    notes = found[("profile", "notes")]
    assert [(d.id, d.status) for d in notes.diffs] == [(second.id, DiffStatus.approved), (first.id, DiffStatus.rejected)]
    assert [d.id for d in notes.refused] == [first.id]
    assert notes.refusal_of("  stanford ").id == first.id and notes.refusal_of("Reed") is None
    assert notes.refused[0].decision_note == "not decided yet"
    assert notes.last_refusal_at() == notes.refused[0].reviewed_at
    assert memory.decisions("other-course") == {} and expired.id


def test_undo_restores_the_value_before_the_approval_and_counts_as_refused(store: MemoryStore, course: Course,
                                                                          clock: FakeClock) -> None:
    memory = store.student("s1")
    memory.write_field(course, "profile", "notes", "Quiet.", author="student:s1")
    diff = propose(memory, course, "Loud.")
    memory.approve(diff.id, reviewer="student:s1")
    later = propose(memory, course, "Loud. Likes chess.")  # computed from the approved value
    clock.advance(minutes=5)
    undone = memory.undo(diff.id, reviewer="student:s1", note="that was a joke")
    assert memory.read_field(course, "profile", "notes") == "Quiet."
    assert undone.status is DiffStatus.undone and undone.undone_by == "student:s1"
    assert undone.undo_note == "that was a joke" and undone.decision_note == "that was a joke"
    assert undone.reviewed_by == "student:s1" and undone.decided_at == clock.now  # the approval's fields kept
    stored = memory.get_diff(diff.id)
    assert stored.status is DiffStatus.undone and stored.applied_commit  # the approval commit is still named
    assert memory.get_diff(later.id).status is DiffStatus.stale  # its "before" is gone
    assert memory.decisions(course)[("profile", "notes")].refusal_of("loud.").id == diff.id
    repo = store.users_root / "s1"
    assert git(repo, "log", "-1", "--format=%an|%s").strip() == f"student:s1|Undo {diff.id}: profile.notes"
    assert f"Youlab-Diff: {diff.id}" in git(repo, "log", "-1", "--format=%B")
    assert counts_file(store)["typed-course"]["observer"] == {"approved": 0, "stale": 1, "undone": 1}
    assert_clean_worktree(repo)
    assert_fsck_clean(repo)
    with pytest.raises(DiffClosed, match="approved and then undone by student:s1"):
        memory.undo(diff.id, reviewer="student:s1")


def test_undo_refuses_what_it_cannot_take_back(store: MemoryStore, course: Course) -> None:
    memory = store.student("s1")
    pending = propose(memory, course, "A")
    with pytest.raises(DiffClosed, match="never approved; reject it instead"):
        memory.undo(pending.id, reviewer="student:s1")
    memory.reject(pending.id, reviewer="student:s1")
    with pytest.raises(DiffClosed, match="already rejected"):
        memory.undo(pending.id, reviewer="student:s1")
    approved = propose(memory, course, "B")
    memory.approve(approved.id, reviewer="student:s1")
    memory.write_field(course, "profile", "notes", "C", author="student:s1")
    with pytest.raises(StaleDiff, match="changed after this change was approved"):
        memory.undo(approved.id, reviewer="student:s1")
    assert memory.read_field(course, "profile", "notes") == "C"
    assert memory.get_diff(approved.id).status is DiffStatus.approved


def test_counts_follow_every_decision_and_a_missing_file_is_rebuilt(store: MemoryStore, course: Course) -> None:
    memory = store.student("s1")
    for value in ("a", "b"):
        memory.reject(propose(memory, course, value).id, reviewer="student:s1")
    memory.approve(propose(memory, course, "c", agent="other").id, reviewer="student:s1")
    assert counts_file(store) == {"typed-course": {"observer": {"rejected": 2}, "other": {"approved": 1}}}
    (store.users_root / "s1" / DECISION_COUNTS).unlink()  # a repository from before the file existed
    git(store.users_root / "s1", "commit", "-qam", "drop the counts")
    memory.reject(propose(memory, course, "d").id, reviewer="student:s1")
    assert counts_file(store) == {"typed-course": {"observer": {"rejected": 3}, "other": {"approved": 1}}}


def test_decision_summary_adds_up_every_student(store: MemoryStore, course: Course) -> None:
    one, two = store.student("s1"), store.student("s2")
    one.approve(propose(one, course, "a").id, reviewer="student:s1")
    one.reject(propose(one, course, "b", field="summary", block="journal").id, reviewer="student:s1")
    approved = propose(two, course, "c")
    two.approve(approved.id, reviewer="student:s2")
    two.undo(approved.id, reviewer="student:s2")
    propose(two, course, "d")  # still pending
    (store.users_root / "s2" / DECISION_COUNTS).unlink()  # counted from the archive instead
    [line] = decision_summary(store)
    assert (line.course, line.task) == ("typed-course", "observer")
    assert (line.proposed, line.pending, line.approved, line.rejected, line.undone) == (4, 1, 1, 1, 1)
    assert line.approval_rate == pytest.approx(1 / 3)
    assert line.as_json()["approval_rate"] == pytest.approx(1 / 3)
    assert decision_summary(store, task="nobody") == []
    assert decision_summary(MemoryStore(store.users_root.parent / "empty")) == []
