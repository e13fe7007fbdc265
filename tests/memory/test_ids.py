from __future__ import annotations

from pathlib import Path

import pytest

from youlab_core.errors import InvalidUserId, NotFound
from youlab_core.memory import MemoryStore, validate_user_id
from youlab_core.memory.ids import new_diff_id, validate_diff_id, validate_name

BAD_IDS = [
    "", ".", "..", "../x", "x/..", "a/b", "/etc", "a\\b", "..hidden", ".hidden", "x..y", "a\x00b", "a b", "ü", "a\n",
    "x" * 129, 42, None,
]


@pytest.mark.parametrize("user_id", BAD_IDS)
def test_unsafe_user_ids_are_refused(user_id: object, tmp_path: Path) -> None:
    with pytest.raises(InvalidUserId):
        validate_user_id(user_id)
    with pytest.raises(InvalidUserId):
        MemoryStore(tmp_path).student(user_id)  # type: ignore[arg-type]
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("user_id", ["5f0c7a9e-1234-4abc-8def-0123456789ab", "student_7", "a@b.edu", "x.y", "A" * 128])
def test_ordinary_user_ids_are_accepted(user_id: str) -> None:
    assert validate_user_id(user_id) == user_id


def test_error_names_the_id_and_the_rule() -> None:
    with pytest.raises(InvalidUserId, match=r"'\.\./etc'.*'\.\.'"):
        validate_user_id("../etc")


def test_a_symlinked_student_directory_pointing_outside_is_refused(tmp_path: Path) -> None:
    users = tmp_path / "users"
    users.mkdir()
    outside = tmp_path / "outside"
    outside.mkdir()
    (users / "evil").symlink_to(outside)
    with pytest.raises(InvalidUserId, match="outside the storage root"):
        MemoryStore(users).student("evil")


def test_diff_ids_sort_by_time_and_validate() -> None:
    first, second = new_diff_id(), new_diff_id()
    assert validate_diff_id(first) == first
    assert len({first, second}) == 2
    for bad in ["../x", "index", "20261124T004023Z-0123456789aZ", ""]:
        with pytest.raises(NotFound):
            validate_diff_id(bad)


def test_names_used_as_paths_are_checked() -> None:
    assert validate_name("block", "journey") == "journey"
    with pytest.raises(NotFound):
        validate_name("block", "../x")
