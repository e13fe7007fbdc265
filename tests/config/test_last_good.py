"""Saved last good copies: written whole, not rewritten when unchanged, removed with their empty folders, and a
failure to save is logged rather than raised."""

from __future__ import annotations

import logging
from pathlib import PurePosixPath

import pytest

from youlab_core.config import LastGoodCopies

REL = PurePosixPath("courses/demo/course.toml")


def test_save_load_and_remove(tmp_path):
    copies = LastGoodCopies(tmp_path / "saved")
    assert copies.load(REL) is None
    assert copies.save(REL, b"one")
    assert copies.load(REL) == b"one"
    assert copies.save(REL, b"two")
    assert (tmp_path / "saved/courses/demo/course.toml").read_bytes() == b"two"
    assert [p.name for p in (tmp_path / "saved/courses/demo").iterdir()] == ["course.toml"]  # no temp files left
    copies.remove(REL)
    assert copies.load(REL) is None
    assert not (tmp_path / "saved/courses").exists() and (tmp_path / "saved").is_dir()


def test_an_unchanged_copy_is_not_rewritten(tmp_path):
    copies = LastGoodCopies(tmp_path)
    copies.save(REL, b"same")
    path = copies.path_for(REL)
    before = path.stat().st_ino
    assert copies.save(REL, b"same")
    assert path.stat().st_ino == before


def test_paths_outside_the_directory_are_refused(tmp_path):
    copies = LastGoodCopies(tmp_path)
    with pytest.raises(ValueError):
        copies.path_for(PurePosixPath("../elsewhere/course.toml"))
    with pytest.raises(ValueError):
        copies.path_for(PurePosixPath("/etc/course.toml"))


def test_a_copy_that_cannot_be_saved_is_logged_not_raised(tmp_path, caplog):
    (tmp_path / "saved").write_text("a file where the directory should be")
    copies = LastGoodCopies(tmp_path / "saved")
    with caplog.at_level(logging.WARNING, logger="youlab_core.config.last_good"):
        assert copies.save(REL, b"data") is False
    assert "could not be saved" in caplog.text and "memory only" in caplog.text
