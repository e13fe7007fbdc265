"""Pending diffs: every path of pending -> approved | rejected | superseded | expired | stale."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from youlab_core.config import Course
from youlab_core.errors import NotFound, ProposalRefused, StaleDiff
from youlab_core.memory import DiffClosed, DiffStatus, MemoryStore, PendingDiff, StudentMemory

from .conftest import Courses, FakeClock, assert_clean_worktree, assert_fsck_clean, git


def propose(memory: StudentMemory, course: Course, field: str = "notes", value: Any = "Likes chess.", *,
            block: str = "profile", agent: str = "observer", **extra: Any) -> PendingDiff:
    return memory.propose(course, agent=agent, run_id="run-1", block=block, field=field, operation="replace",
                          proposed_value=value, reasoning="they said so", confidence="high",
                          source_query="What is new?", **extra)


def repo_of(store: MemoryStore, user: str = "s1") -> Path:
    return store.users_root / user


def test_a_proposal_is_committed_by_its_agent_with_everything_recorded(store: MemoryStore, course: Course) -> None:
    memory = store.student("s1")
    memory.write_field(course, "profile", "notes", "Quiet.", author="student:s1")
    head = git(repo_of(store), "rev-parse", "HEAD").strip()
    diff = propose(memory, course)
    assert diff.status is DiffStatus.pending
    assert (diff.current_value, diff.proposed_value, diff.base_commit) == ("Quiet.", "Likes chess.", head)
    assert (diff.user_id, diff.course, diff.agent, diff.run_id, diff.block, diff.field) == (
        "s1", "typed-course", "observer", "run-1", "profile", "notes")
    assert memory.get_diff(diff.id) == diff
    assert git(repo_of(store), "log", "-1", "--format=%an|%s").strip() == (
        f"agent:observer|Propose replace of profile.notes ({diff.id})")
    assert f"pending_diffs/{diff.id}.json" in git(repo_of(store), "ls-files")
    assert memory.read_field(course, "profile", "notes") == "Quiet."  # proposing changes nothing yet
    assert_clean_worktree(repo_of(store))


def test_approving_a_replace_applies_exactly_that_field(store: MemoryStore, course: Course) -> None:
    # The earlier version could not approve a replace, and approving rewrote the whole block.
    memory = store.student("s1")
    memory.write_field(course, "profile", "tags", ["a", "b"], author="student:s1")
    memory.write_field(course, "profile", "notes", "Line one\n## heading-like\nline three", author="student:s1")
    before = (repo_of(store) / "memory-blocks/typed-course/profile.md").read_text()
    diff = propose(memory, course, "level", 7)
    approved = memory.approve(diff.id, reviewer="student:s1", note="yes")

    assert approved.status is DiffStatus.approved and approved.review_note == "yes"
    assert approved.reviewed_by == "student:s1"
    values = memory.read_block(course, "profile").values
    assert values["level"] == 7 and values["notes"] == "Line one\n## heading-like\nline three" and values["tags"] == ["a", "b"]
    after = (repo_of(store) / "memory-blocks/typed-course/profile.md").read_text()
    changed = [line for line in after.splitlines() if line not in before.splitlines()]
    assert changed == [l for l in changed if l.startswith("updated_at:") or l == "7"] and "7" in changed

    log = git(repo_of(store), "log", "-1", "--format=%H|%an|%cn|%s")
    sha, author, committer, subject = log.strip().split("|")
    assert (author, committer) == ("agent:observer", "student:s1")
    assert diff.id in subject
    assert approved.applied_commit == sha == memory.get_diff(diff.id).applied_commit
    assert [d.applied_commit for d in memory.list_diffs(status="approved")] == [sha]
    changed_files = git(repo_of(store), "show", "--name-status", "--format=", "HEAD").split("\n")
    assert sorted(filter(None, changed_files)) == [
        "A\tdecision_counts.json",  # per-agent counts of decided diffs, for `youlab runs --decisions`
        "A\tpending_diffs/archive/2026-03-01.jsonl",  # the decided diff moved to its day's archive
        "D\tpending_diffs/" + diff.id + ".json",
        "M\tmemory-blocks/typed-course/profile.md",
        "M\tpending_index.json",
    ]
    assert_clean_worktree(repo_of(store))
    assert_fsck_clean(repo_of(store))


def test_approval_supersedes_other_pending_diffs_of_the_same_field_only(store: MemoryStore, course: Course) -> None:
    memory = store.student("s1")
    first = propose(memory, course, value="A")
    second = propose(memory, course, value="B")
    other_field = propose(memory, course, "level", 3)
    memory.approve(second.id, reviewer="student:s1")
    assert memory.get_diff(first.id).status is DiffStatus.superseded
    assert memory.get_diff(first.id).review_note == f"superseded by {second.id}"
    assert memory.get_diff(other_field.id).status is DiffStatus.pending
    assert memory.read_field(course, "profile", "notes") == "B"
    with pytest.raises(DiffClosed, match="another change to profile.notes was approved first"):
        memory.approve(first.id, reviewer="student:s1")
    memory.approve(other_field.id, reviewer="student:s1")  # the other field still applies cleanly
    assert memory.read_field(course, "profile", "level") == 3


def test_a_direct_edit_makes_pending_diffs_of_that_field_stale(store: MemoryStore, course: Course) -> None:
    memory = store.student("s1")
    diff = propose(memory, course, value="agent text")
    untouched = propose(memory, course, "level", 2)
    memory.write_field(course, "profile", "notes", "my own words", author="student:s1")
    stale = memory.get_diff(diff.id)
    assert stale.status is DiffStatus.stale and "changed by student:s1" in stale.review_note
    assert memory.get_diff(untouched.id).status is DiffStatus.pending
    with pytest.raises(StaleDiff, match="profile.notes changed after the agent proposed it"):
        memory.approve(diff.id, reviewer="student:s1")
    assert memory.read_field(course, "profile", "notes") == "my own words"


def test_approve_detects_a_field_changed_behind_its_back(store: MemoryStore, course: Course) -> None:
    memory = store.student("s1")
    diff = propose(memory, course, value="agent text")
    # Someone edits the file with git itself (no pending-diff bookkeeping at all).
    path = repo_of(store) / "memory-blocks/typed-course/profile.md"
    memory.write_field(course, "profile", "level", 2, author="student:s1")
    path.write_text(path.read_text().replace("## notes\n\n\n", "## notes\n\nedited by hand\n"))
    git(repo_of(store), "-c", "user.name=x", "-c", "user.email=x@x", "commit", "-qam", "hand edit")
    with pytest.raises(StaleDiff) as info:
        memory.approve(diff.id, reviewer="student:s1")
    message = str(info.value)
    assert "profile.notes changed after the agent proposed this" in message and "edited by hand" in message
    assert memory.get_diff(diff.id).status is DiffStatus.stale
    assert memory.read_field(course, "profile", "notes") == "edited by hand"
    assert_clean_worktree(repo_of(store))


def test_a_proposal_computed_from_an_old_value_is_refused(store: MemoryStore, course: Course) -> None:
    memory = store.student("s1")
    memory.write_field(course, "profile", "notes", "newer", author="student:s1")
    with pytest.raises(StaleDiff, match="changed while the agent was working"):
        propose(memory, course, value="older + insight", based_on="older")
    assert memory.list_diffs() == []
    assert propose(memory, course, value="newer + insight", based_on="newer").status is DiffStatus.pending


def test_reject_records_the_decision_and_a_note(store: MemoryStore, course: Course) -> None:
    memory = store.student("s1")
    diff = propose(memory, course)
    rejected = memory.reject(diff.id, reviewer="student:s1", note="not true")
    assert (rejected.status, rejected.review_note, rejected.reviewed_by) == (DiffStatus.rejected, "not true", "student:s1")
    assert memory.get_diff(diff.id) == rejected
    assert git(repo_of(store), "log", "-1", "--format=%an|%s").strip() == f"student:s1|Reject {diff.id} (profile.notes)"
    assert memory.read_field(course, "profile", "notes") == ""
    with pytest.raises(DiffClosed, match="already rejected by student:s1 on Mar 01, 2026"):
        memory.approve(diff.id, reviewer="student:s1")
    with pytest.raises(DiffClosed):
        memory.reject(diff.id, reviewer="student:s1")


def test_old_pending_diffs_expire(store: MemoryStore, course: Course, clock: FakeClock) -> None:
    memory = store.student("s1")
    old = propose(memory, course)
    clock.advance(days=20)
    young = propose(memory, course, "level", 2)
    clock.advance(days=11)
    expired = memory.expire()
    assert [d.id for d in expired] == [old.id]
    assert memory.get_diff(old.id).status is DiffStatus.expired
    assert memory.get_diff(young.id).status is DiffStatus.pending
    assert memory.expire() == []
    clock.advance(days=30)
    with pytest.raises(DiffClosed, match="expired"):  # approve expires it on the spot, without waiting for expire()
        memory.approve(young.id, reviewer="student:s1")
    assert memory.get_diff(young.id).status is DiffStatus.expired
    assert memory.counts()["total"] == 0


def test_listing_and_counts_by_agent_block_and_status(store: MemoryStore, course: Course, clock: FakeClock) -> None:
    memory = store.student("s1")
    a = propose(memory, course, agent="observer")
    clock.advance(seconds=1)
    b = propose(memory, course, "level", 2, agent="grader")
    clock.advance(seconds=1)
    c = propose(memory, course, "entries", "x", block="journal", agent="grader")
    clock.advance(seconds=1)
    d = propose(memory, course, "summary", "y", block="journal", agent="grader")
    memory.reject(d.id, reviewer="student:s1")
    assert [x.id for x in memory.list_diffs(status="pending")] == [c.id, b.id, a.id]
    assert [x.id for x in memory.list_diffs(status="pending", agent="grader")] == [c.id, b.id]
    assert [x.id for x in memory.list_diffs(block="journal")] == [d.id, c.id]
    assert [x.id for x in memory.list_diffs(status=DiffStatus.rejected)] == [d.id]
    assert [x.id for x in memory.list_diffs(course=course, field="level")] == [b.id]
    assert memory.counts() == {
        "total": 3,
        "by_agent": {"observer": 1, "grader": 2},
        "by_block": {"typed-course/profile": 2, "typed-course/journal": 1},
    }
    assert memory.counts(agent="grader")["total"] == 2
    assert memory.counts(block="journal")["total"] == 1
    assert memory.counts(course="other")["total"] == 0
    assert store.student("nobody").counts()["total"] == 0 and store.student("nobody").list_diffs() == []


def test_proposals_of_the_wrong_type_are_refused_with_a_reason(store: MemoryStore, course: Course) -> None:
    memory = store.student("s1")
    with pytest.raises(ProposalRefused, match="profile.status: 'lost' is not one of"):
        propose(memory, course, "status", "lost")
    with pytest.raises(NotFound, match="no field 'nope'"):
        propose(memory, course, "nope", "x")
    with pytest.raises(ProposalRefused, match="'certain' is not a valid Confidence"):
        memory.propose(course, agent="a", run_id="r", block="profile", field="notes", operation="replace",
                       proposed_value="x", reasoning="", confidence="certain", source_query="")
    assert memory.list_diffs() == []


def test_unknown_diff_ids(store: MemoryStore, course: Course) -> None:
    memory = store.student("s1")
    propose(memory, course)
    with pytest.raises(NotFound, match="has no pending diff"):
        memory.approve("20260101T000000Z-000000000000", reviewer="student:s1")
    with pytest.raises(NotFound, match="not a pending-diff id"):
        memory.get_diff("../../etc/passwd")


class Recorder:
    def __init__(self, store: MemoryStore, course: Course):
        self.store, self.course, self.seen = store, course, []

    def on_approved(self, user_id: str, course: Course, diff: PendingDiff) -> None:
        # The approval is committed and the lock released: reading (even writing) from here works.
        value = self.store.student(user_id).read_field(course, diff.block, diff.field)
        self.seen.append((user_id, course.id, diff.id, diff.status, value, diff.applied_commit))


class Broken:
    def on_approved(self, user_id: str, course: Course, diff: PendingDiff) -> None:
        raise RuntimeError("letta is down")


def test_listeners_hear_committed_approvals_and_cannot_undo_them(
    tmp_path: Path, course: Course, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    store = MemoryStore(tmp_path / "users", clock=clock, courses=Courses(course))
    recorder = Recorder(store, course)
    store.add_listener(Broken())
    store.add_listener(recorder)
    memory = store.student("s1")
    diff = propose(memory, course)
    approved = memory.approve(diff.id, reviewer="student:s1")
    assert recorder.seen == [("s1", "typed-course", diff.id, DiffStatus.approved, "Likes chess.", approved.applied_commit)]
    assert "letta is down" in caplog.text
    assert memory.get_diff(diff.id).status is DiffStatus.approved
    memory.reject(propose(memory, course, value="z").id, reviewer="student:s1")
    assert len(recorder.seen) == 1  # rejections are not approvals


def test_approve_finds_the_course_through_the_store_lookup(tmp_path: Path, course: Course) -> None:
    bare = MemoryStore(tmp_path / "users")
    diff = propose(bare.student("s1"), course)
    with pytest.raises(NotFound, match="pass course="):
        bare.student("s1").approve(diff.id, reviewer="student:s1")
    with_lookup = MemoryStore(tmp_path / "users", courses=Courses(course))
    assert with_lookup.student("s1").approve(diff.id, reviewer="student:s1").status is DiffStatus.approved


def test_a_busy_day_spreads_its_decided_diffs_over_bounded_archive_files(
    store: MemoryStore, course: Course, monkeypatch: pytest.MonkeyPatch
) -> None:
    import youlab_core.memory.student as student_module

    monkeypatch.setattr(student_module, "ARCHIVE_CHUNK", 3)
    memory = store.student("s1")
    ids = [propose(memory, course, "level", n % 10).id for n in range(8)]
    for diff_id in ids[:7]:
        memory.reject(diff_id, reviewer="student:s1")
    archive = repo_of(store) / "pending_diffs" / "archive"
    assert sorted(p.name for p in archive.iterdir()) == ["2026-03-01.1.jsonl", "2026-03-01.2.jsonl", "2026-03-01.jsonl"]
    assert [len(p.read_text().splitlines()) for p in sorted(archive.iterdir())] == [3, 1, 3]
    assert all(memory.get_diff(i).status is DiffStatus.rejected for i in ids[:7])
    assert memory.get_diff(ids[7]).status is DiffStatus.pending
    assert len(memory.list_diffs()) == 8
    memory.approve(ids[7], reviewer="student:s1")  # lands in the last file with room
    assert len((archive / "2026-03-01.2.jsonl").read_text().splitlines()) == 2


def test_propose_many_records_a_run_in_one_commit_and_reports_each_outcome(store: MemoryStore, course: Course) -> None:
    from youlab_core.memory import Proposal

    memory = store.student("s1")
    memory.write_field(course, "journal", "summary", "moved on", author="student:s1")
    repo = repo_of(store)
    commits = int(git(repo, "rev-list", "--count", "HEAD"))
    outcomes = memory.propose_many(course, [
        Proposal("profile", "notes", "append", "Likes chess.", "said so", "high", "What is new?"),
        Proposal("profile", "level", "replace", 99, "", "low", "Level?"),                      # over max 10
        Proposal("journal", "summary", "llm_diff", "merged", "", "medium", "Summary?", based_on="old summary"),
        Proposal("profile", "nope", "replace", "x", "", "low", "?"),
        Proposal("journal", "entries", "replace", "an entry", "", "medium", "Entries?", based_on=""),
    ], agent="observer", run_id="run-7")
    first, too_big, stale, unknown, last = outcomes
    assert isinstance(first, PendingDiff) and isinstance(last, PendingDiff)
    assert isinstance(too_big, ProposalRefused) and "max of 10" in str(too_big)
    assert isinstance(stale, StaleDiff)
    assert isinstance(unknown, ProposalRefused) and "no field 'nope'" in str(unknown)
    assert int(git(repo, "rev-list", "--count", "HEAD")) == commits + 1
    subject = git(repo, "log", "-1", "--format=%an|%s").strip()
    assert subject == "agent:observer|Propose 2 changes (run run-7)"
    assert {d.id for d in memory.list_diffs(status="pending")} == {first.id, last.id}
    assert memory.approve(last.id, reviewer="student:s1").status is DiffStatus.approved
    assert memory.propose_many(course, [], agent="observer", run_id="r") == []


def test_propose_and_approve_start_no_git_process(
    store: MemoryStore, course: Course, monkeypatch: pytest.MonkeyPatch
) -> None:
    import subprocess

    memory = store.student("s1")
    memory.write_field(course, "profile", "notes", "x", author="student:s1")  # creating the repo may run `git init`

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError(f"a process was started: {args}")

    monkeypatch.setattr(subprocess.Popen, "__init__", refuse)
    diff = propose(memory, course)
    memory.approve(diff.id, reviewer="student:s1")
    memory.reject(propose(memory, course, value="other").id, reviewer="student:s1")
    assert memory.read_field(course, "profile", "notes") == "Likes chess."
