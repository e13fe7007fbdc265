"""Blocks in a student's repository: defaults, typed writes, history, read-at, restore, diff."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from youlab_core.config import Course, parse_course
from youlab_core.errors import NotFound
from youlab_core.memory import InvalidFieldValue, MemoryStore

from .conftest import JOURNAL_FIELDS, FakeClock, typed_course_toml, assert_clean_worktree, assert_fsck_clean, git


def test_a_new_student_reads_the_course_defaults_without_creating_anything(store: MemoryStore, course: Course) -> None:
    memory = store.student("s1")
    block = memory.read_block(course, "profile")
    assert block.values == {
        "notes": "", "level": 1, "score": 0.5, "active": True, "tags": ["first"], "seen": None, "status": "new",
    }
    assert block.updated_at is None
    assert store.user_ids() == []
    assert [b.exists for b in memory.list_blocks(course)] == [False, False]


def test_write_field_is_one_commit_by_its_author_and_changes_only_that_field(
    store: MemoryStore, course: Course, clock: FakeClock
) -> None:
    memory = store.student("s1")
    memory.write_field(course, "profile", "notes", "Loves robotics.", author="student:s1")
    before = memory.read_block(course, "profile").values
    sha = memory.write_field(course, "profile", "level", 4, author="student:s1", message="Moved up")
    after = memory.read_block(course, "profile").values
    assert after == {**before, "level": 4}
    repo = store.users_root / "s1"
    assert git(repo, "rev-parse", "HEAD").strip() == sha
    assert git(repo, "log", "-1", "--format=%an|%s").strip() == "student:s1|Moved up"
    assert store.user_ids() == ["s1"]
    info = {b.name: b for b in memory.list_blocks(course)}
    assert info["profile"].exists and info["profile"].updated_at == clock.now
    assert not info["journal"].exists
    assert_clean_worktree(repo)
    assert_fsck_clean(repo)


def test_an_unchanged_write_makes_no_commit(store: MemoryStore, course: Course) -> None:
    memory = store.student("s1")
    first = memory.write_field(course, "profile", "level", 3, author="student:s1")
    assert memory.write_field(course, "profile", "level", 3, author="student:s1") == first


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("level", "3", "not a int"),
        ("level", True, "not a int"),
        ("level", 11, "max of 10"),
        ("active", 1, "not a bool"),
        ("tags", ["a", "b", "c", "d"], "max of 3"),
        ("tags", "a", "not a list"),
        ("status", "lost", "not one of"),
        ("seen", "2026-01-01", "not a datetime"),
    ],
)
def test_wrongly_typed_writes_are_refused_and_nothing_is_written(
    store: MemoryStore, course: Course, field: str, value: object, message: str
) -> None:
    memory = store.student("s1")
    with pytest.raises(InvalidFieldValue, match=message):
        memory.write_field(course, "profile", field, value, author="student:s1")
    assert store.user_ids() == []


def test_unknown_blocks_and_fields_are_not_found(store: MemoryStore, course: Course) -> None:
    memory = store.student("s1")
    with pytest.raises(NotFound, match="no block 'nope'"):
        memory.read_block(course, "nope")
    with pytest.raises(NotFound, match="no field 'nope'.*fields: notes, level"):
        memory.write_field(course, "profile", "nope", "x", author="student:s1")


def test_typed_values_survive_a_write_and_a_read(store: MemoryStore, course: Course) -> None:
    memory = store.student("s1")
    seen = datetime(2026, 2, 3, 4, 5, 6, 789, tzinfo=timezone.utc)
    for field, value in [("score", 2), ("active", False), ("tags", ["a", "b\nc"]), ("seen", seen), ("notes", "## x\n---")]:
        memory.write_field(course, "profile", field, value, author="student:s1")
    values = memory.read_block(course, "profile").values
    assert values["score"] == 2.0 and isinstance(values["score"], float)
    assert values["active"] is False
    assert values["tags"] == ["a", "b\nc"]
    assert values["seen"] == seen
    assert values["notes"] == "## x\n---"
    assert memory.read_field(course, "profile", "seen") == seen


def test_history_read_at_diff_and_restore(store: MemoryStore, course: Course, clock: FakeClock) -> None:
    memory = store.student("s1")
    v1 = memory.write_field(course, "journal", "entries", "one", author="student:s1")
    clock.advance(minutes=1)
    memory.write_field(course, "journal", "summary", "short", author="agent:observer")
    clock.advance(minutes=1)
    v3 = memory.write_field(course, "journal", "entries", "one\ntwo", author="student:s1")

    history = memory.history(course, "journal")
    assert [h.author for h in history] == ["student:s1", "agent:observer", "student:s1"]
    assert history[0].version == v3 and history[-1].version == v1
    assert history[0].fields == ("entries",) and history[1].fields == ("summary",)
    assert history[0].at == clock.now and history[-1].at == clock.now.replace(minute=0)
    assert [h.version for h in memory.history(course, "journal", "entries")] == [v3, v1]
    assert [h.version for h in memory.history(course, "journal", limit=1)] == [v3]
    assert memory.history(course, "profile") == []

    assert memory.read_at(course, "journal", v1).values == {"entries": "one", "summary": "nothing yet"}
    patch = memory.diff(course, "journal", v1)
    assert " one\n+two\n" in patch and "-nothing yet\n+short\n" in patch
    assert memory.diff(course, "journal", v1, v1) == ""

    restored = memory.restore(course, "journal", v1, author="student:s1")
    assert memory.read_block(course, "journal").values == {"entries": "one", "summary": "nothing yet"}
    assert memory.history(course, "journal")[0].version == restored
    assert memory.history(course, "journal")[0].fields == ("entries", "summary")
    assert len(memory.history(course, "journal")) == 4  # restore is a new commit; nothing was rewritten
    assert_fsck_clean(store.users_root / "s1")


def test_versions_are_checked_before_git_sees_them(store: MemoryStore, course: Course) -> None:
    memory = store.student("s1")
    memory.write_field(course, "journal", "entries", "one", author="student:s1")
    for bad in ["--output=/tmp/x", "HEAD~1", "main", "zzzz"]:
        with pytest.raises(NotFound, match="not a version id"):
            memory.read_at(course, "journal", bad)
    with pytest.raises(NotFound, match="no version"):
        memory.read_at(course, "journal", "0" * 40)
    first = git(store.users_root / "s1", "rev-list", "--max-parents=0", "HEAD").strip()
    with pytest.raises(NotFound, match="did not exist yet"):
        memory.read_at(course, "journal", first)


def test_a_course_that_gains_a_field_reads_old_files_with_the_new_default(store: MemoryStore, course: Course) -> None:
    memory = store.student("s1")
    memory.write_field(course, "journal", "entries", "kept", author="student:s1")
    grown = parse_course(typed_course_toml(journal={**JOURNAL_FIELDS, "mood": {"type": "int", "default": 5}}),
                         "grown.toml")
    assert memory.read_block(grown, "journal").values == {"entries": "kept", "summary": "nothing yet", "mood": 5}
    memory.write_field(grown, "journal", "mood", 7, author="student:s1")
    # and the old course still reads the file (the extra field is kept, not lost)
    assert memory.read_block(course, "journal").values == {"entries": "kept", "summary": "nothing yet", "mood": 7}


def test_blocks_are_namespaced_per_course(store: MemoryStore, course: Course) -> None:
    other = parse_course(typed_course_toml("other-course"), "other.toml")
    memory = store.student("s1")
    memory.write_field(course, "journal", "entries", "first course", author="student:s1")
    assert memory.read_field(other, "journal", "entries") == ""
    assert (store.users_root / "s1" / "memory-blocks" / "typed-course" / "journal.md").is_file()


def test_git_gc_packs_the_repository_and_everything_still_works(store: MemoryStore, course: Course) -> None:
    memory = store.student("s1")
    first = memory.write_field(course, "journal", "entries", "one", author="student:s1")
    diff = memory.propose(course, agent="observer", run_id="r", block="journal", field="entries", operation="replace",
                          proposed_value="two", reasoning="", confidence="low", source_query="")
    repo = store.users_root / "s1"
    git(repo, "gc", "--quiet", "--prune=now")
    assert not [p for p in (repo / ".git" / "objects").iterdir() if len(p.name) == 2]  # all packed
    memory.approve(diff.id, reviewer="student:s1")
    assert memory.read_field(course, "journal", "entries") == "two"
    assert memory.read_at(course, "journal", first).values["entries"] == "one"
    assert [h.version for h in memory.history(course, "journal")][-1] == first
    assert_fsck_clean(repo)


def test_toml_text_survives_a_write_an_approval_and_a_restore(store: MemoryStore, course: Course) -> None:
    # The earlier version kept block bodies as TOML inside Markdown and mangled nested tables.
    toml_text = '[essay.draft]\ntitle = "Home"\n[[essay.draft.notes]]\ntext = "## not a heading"\n---\n'
    memory = store.student("s1")
    first = memory.write_field(course, "journal", "entries", toml_text, author="student:s1")
    diff = memory.propose(course, agent="observer", run_id="r", block="journal", field="summary",
                          operation="replace", proposed_value=toml_text + "x = {y = 1}", reasoning="",
                          confidence="low", source_query="")
    memory.approve(diff.id, reviewer="student:s1")
    assert memory.read_block(course, "journal").values == {"entries": toml_text, "summary": toml_text + "x = {y = 1}"}
    memory.restore(course, "journal", first, author="student:s1")
    assert memory.read_block(course, "journal").values == {"entries": toml_text, "summary": "nothing yet"}


def test_restore_makes_pending_diffs_of_the_fields_it_changes_stale(store: MemoryStore, course: Course) -> None:
    memory = store.student("s1")
    first = memory.write_field(course, "journal", "entries", "one", author="student:s1")
    memory.write_field(course, "journal", "entries", "two", author="student:s1")
    common = dict(agent="observer", run_id="r", block="journal", operation="replace", reasoning="",
                  confidence="low", source_query="")
    on_entries = memory.propose(course, field="entries", proposed_value="two and more", **common)
    on_summary = memory.propose(course, field="summary", proposed_value="short", **common)
    memory.restore(course, "journal", first, author="student:s1")
    assert memory.get_diff(on_entries.id).status.value == "stale"
    assert memory.get_diff(on_summary.id).status.value == "pending"  # restore left summary as it was
