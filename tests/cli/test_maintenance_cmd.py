"""`youlab maintenance`: packs and verifies the named students (or all), reports sizes, JSON for scripts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from youlab_core.cli import main
from youlab_core.config import parse_course
from youlab_core.memory import MemoryStore
from youlab_core.memory.upkeep import loose_count, pack_files
from tests.memory.conftest import COURSE_TOML


@pytest.fixture
def root(tmp_path: Path) -> Path:
    course = parse_course(COURSE_TOML, "typed-course/course.toml")
    store = MemoryStore(tmp_path / "users", sync=False)
    for user in ("a", "b"):
        for i in range(5):
            store.student(user).write_field(course, "journal", "entries", f"line {i}", author=f"student:{user}")
    return tmp_path


def test_all_students_are_packed_verified_and_reported_as_json(root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["maintenance", "--all", "--json", "--storage-root", str(root)]) == 0
    reports = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [(r["user_id"], r["status"], r["verified"]) for r in reports] == [("a", "packed", True),
                                                                            ("b", "packed", True)]
    assert all(r["bytes_after"] < r["bytes_before"] for r in reports)
    git_dir = root / "users" / "a" / ".git"
    assert loose_count(git_dir) == 0 and len(pack_files(git_dir)) == 1

    assert main(["maintenance", "a", "--storage-root", str(root)]) == 0  # again: nothing left to pack
    assert capsys.readouterr().out.startswith("a: nothing to pack: verified")


def test_named_students_only_and_plain_words_for_what_is_wrong(root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["maintenance", "b", "nobody", "--storage-root", str(root)]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("b: packed: ") and "KiB -> " in out[0] and out[0].endswith("verified")
    assert out[1].startswith("nobody: no repository: no memory repository at ")
    assert loose_count(root / "users" / "a" / ".git") > 0  # not named: untouched


def test_a_damaged_repository_fails_verification(root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["maintenance", "a", "--storage-root", str(root)]) == 0
    pack = pack_files(root / "users" / "a" / ".git")[0]
    data = bytearray(pack.read_bytes())
    data[len(data) // 2] ^= 0xFF
    pack.chmod(0o644)
    pack.write_bytes(bytes(data))
    capsys.readouterr()
    assert main(["maintenance", "a", "--storage-root", str(root), "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["verified"] is False and "git fsck found problems" in report["problem"]


def test_naming_students_and_all_together_is_refused(root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["maintenance", "a", "--all", "--storage-root", str(root)]) == 2
    assert "name the students to maintain" in capsys.readouterr().err
    assert main(["maintenance", "--storage-root", str(root)]) == 2
