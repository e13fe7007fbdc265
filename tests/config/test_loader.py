"""Reading one course file: unreadable and non-UTF-8 files are configuration errors, and a copy loads the same."""

import shutil

import pytest

from youlab_core.config import load_course, parse_course_bytes
from youlab_core.errors import ConfigError

from .conftest import SHIPPED


def test_unreadable_and_non_utf8_files_are_config_errors(tmp_path):
    with pytest.raises(ConfigError, match="cannot read"):
        load_course(tmp_path / "missing.toml")
    bad = tmp_path / "bad.toml"
    bad.write_bytes(b"\xff\xfe[agent]")
    with pytest.raises(ConfigError, match="not UTF-8"):
        load_course(bad)


def test_bytes_are_validated_like_a_file(minimal):
    assert parse_course_bytes(minimal.encode(), "x/course.toml").id == "demo"
    with pytest.raises(ConfigError) as caught:
        parse_course_bytes(b"[agent", "x/course.toml")
    assert caught.value.issues[0].file == "x/course.toml" and "not valid TOML" in caught.value.issues[0].reason


def test_shipped_course_copy_round_trips(tmp_path):
    copy = tmp_path / "course.toml"
    shutil.copy(SHIPPED, copy)
    assert load_course(copy) == load_course(SHIPPED)
