"""The registry keeps the last good version of a file that breaks, and one broken course spares the others."""

import shutil
from pathlib import Path

import pytest

from youlab_core.config import CourseRegistry, load_course
from youlab_core.errors import ConfigError, NotFound

from .conftest import SHIPPED


def make_config(tmp_path: Path, *courses: tuple[str, str]) -> Path:
    for name, text in courses:
        folder = tmp_path / "courses" / name
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "course.toml").write_text(text)
    return tmp_path


def test_broken_reload_keeps_last_good(tmp_path, minimal):
    config = make_config(tmp_path, ("demo", minimal))
    registry = CourseRegistry(config)
    assert registry.reload() == []
    assert registry.course("demo").tasks[0].name == "t1"

    (config / "courses/demo/course.toml").write_text(minimal.replace("manual = true", 'schedule = "bad cron"'))
    issues = registry.reload()
    assert [i.key for i in issues] == ["task[0].schedule"]
    assert issues[0].file.endswith("courses/demo/course.toml")
    assert registry.course("demo").tasks[0].name == "t1"  # the last good version still runs

    (config / "courses/demo/course.toml").write_text(minimal.replace('name = "t1"', 'name = "t2"'))
    assert registry.reload() == []
    assert registry.course("demo").tasks[0].name == "t2"


def test_one_broken_course_does_not_stop_the_others(tmp_path, minimal):
    other = minimal.replace('id = "demo"', 'id = "other"').replace('name = "t1"', 'name = "t9"')
    config = make_config(tmp_path, ("demo", "[agent"), ("other", other))
    registry = CourseRegistry(config)
    issues = registry.reload()
    assert len(issues) == 1 and "not valid TOML" in issues[0].reason
    assert set(registry.courses) == {"other"}


def test_task_names_are_global(tmp_path, minimal):
    other = minimal.replace('id = "demo"', 'id = "other"')
    registry = CourseRegistry(make_config(tmp_path, ("demo", minimal), ("other", other)))
    issues = registry.reload()
    assert [(Path(i.file).parent.name, i.key) for i in issues] == [("other", "task[0].name")]
    assert set(registry.courses) == {"demo"}


def test_removed_file_is_forgotten(tmp_path, minimal):
    config = make_config(tmp_path, ("demo", minimal))
    registry = CourseRegistry(config)
    registry.reload()
    shutil.rmtree(config / "courses/demo")
    registry.reload()
    assert registry.courses == {}
    with pytest.raises(NotFound):
        registry.find_task("t1")


def test_unreadable_and_non_utf8_files_are_config_errors(tmp_path):
    with pytest.raises(ConfigError, match="cannot read"):
        load_course(tmp_path / "missing.toml")
    bad = tmp_path / "bad.toml"
    bad.write_bytes(b"\xff\xfe[agent]")
    with pytest.raises(ConfigError, match="not UTF-8"):
        load_course(bad)


def test_shipped_course_copy_round_trips(tmp_path):
    copy = tmp_path / "course.toml"
    shutil.copy(SHIPPED, copy)
    assert load_course(copy) == load_course(SHIPPED)
