"""The course registry: a broken file keeps its last good version (across a restart when copies are saved), a file
that never was valid is reported as not loaded, deleting a file removes the course, and problems are logged once
per change and shown without server paths."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import pytest

from youlab_core.config import CourseRegistry
from youlab_core.errors import NotFound

BAD_CRON = 'schedule = "bad cron"'


def make_config(root: Path, *courses: tuple[str, str]) -> Path:
    for name, text in courses:
        folder = root / "courses" / name
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "course.toml").write_text(text)
    return root


@pytest.fixture
def dirs(tmp_path: Path) -> tuple[Path, Path]:
    return tmp_path / "config", tmp_path / "data" / "config-last-good"


def broken(minimal: str) -> str:
    return minimal.replace("manual = true", BAD_CRON)


def registry_logs(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "youlab_core.config.registry"]


def test_broken_reload_keeps_last_good(tmp_path, minimal):
    config = make_config(tmp_path, ("demo", minimal))
    registry = CourseRegistry(config)
    assert registry.reload() == []
    assert registry.course("demo").tasks[0].name == "t1"

    (config / "courses/demo/course.toml").write_text(broken(minimal))
    issues = registry.reload()
    assert [i.key for i in issues] == ["task[0].schedule"]
    assert issues[0].file.endswith("courses/demo/course.toml")
    assert registry.course("demo").tasks[0].name == "t1"  # the last good version still runs
    [status] = registry.statuses()
    assert status.loaded and status.kept == "kept in memory"

    (config / "courses/demo/course.toml").write_text(minimal.replace('name = "t1"', 'name = "t2"'))
    assert registry.reload() == []
    assert registry.course("demo").tasks[0].name == "t2"


def test_restart_with_a_broken_file_runs_the_saved_last_good_version(dirs, minimal):
    config, saved = dirs
    make_config(config, ("demo", minimal))
    assert CourseRegistry(config, last_good_dir=saved).reload() == []
    assert (saved / "courses/demo/course.toml").read_text() == minimal

    (config / "courses/demo/course.toml").write_text(broken(minimal))
    restarted = CourseRegistry(config, last_good_dir=saved)  # a new process over the same directories
    issues = restarted.reload()
    assert [i.key for i in issues] == ["task[0].schedule"]  # the problem is still reported
    assert restarted.course("demo").tasks[0].name == "t1"
    [status] = restarted.statuses()
    assert status.loaded and status.kept.startswith("saved copy ")
    assert (saved / "courses/demo/course.toml").read_text() == minimal  # the broken text never replaces the copy


def test_without_saved_copies_a_restart_with_a_broken_file_loads_nothing(dirs, minimal):
    config, _ = dirs
    make_config(config, ("demo", minimal))
    CourseRegistry(config).reload()
    (config / "courses/demo/course.toml").write_text(broken(minimal))
    restarted = CourseRegistry(config)
    restarted.reload()
    assert restarted.courses == {}
    assert "no last good copies are kept" in restarted.statuses()[0].summary()


def test_a_file_that_never_was_valid_is_reported_not_loaded(dirs, minimal, caplog):
    config, saved = dirs
    make_config(config, ("demo", broken(minimal)))
    registry = CourseRegistry(config, last_good_dir=saved)
    with caplog.at_level(logging.INFO, logger="youlab_core.config.registry"):
        assert [i.key for i in registry.reload()] == ["task[0].schedule"]
    assert registry.courses == {}
    [status] = registry.statuses()
    assert not status.loaded and "never been valid" in status.note
    assert registry.problem_lines() == [
        "courses/demo/course.toml: task[0].schedule: " + status.issues[0].reason,
        "courses/demo/course.toml: the course in this file is not loaded",
    ]
    [record] = registry_logs(caplog)
    assert record.levelno == logging.ERROR and "the course is not loaded" in record.getMessage()
    assert "last good version" not in record.getMessage()
    assert not (saved / "courses/demo/course.toml").exists()


def test_a_fixed_file_replaces_the_saved_copy(dirs, minimal):
    config, saved = dirs
    make_config(config, ("demo", minimal))
    registry = CourseRegistry(config, last_good_dir=saved)
    registry.reload()
    fixed = minimal.replace('name = "t1"', 'name = "t2"')
    (config / "courses/demo/course.toml").write_text(broken(minimal))
    registry.reload()
    (config / "courses/demo/course.toml").write_text(fixed)
    assert registry.reload() == []
    assert (saved / "courses/demo/course.toml").read_text() == fixed

    (config / "courses/demo/course.toml").write_text(broken(fixed))
    restarted = CourseRegistry(config, last_good_dir=saved)
    restarted.reload()
    assert restarted.course("demo").tasks[0].name == "t2"


def test_a_saved_copy_that_is_no_longer_valid_is_not_trusted(dirs, minimal):
    config, saved = dirs
    make_config(config, ("demo", broken(minimal)))
    copy = saved / "courses/demo/course.toml"
    copy.parent.mkdir(parents=True)
    copy.write_text(minimal.replace("[agent]", "[agent]\nretired_key = 1"))  # e.g. valid under an older schema
    registry = CourseRegistry(config, last_good_dir=saved)
    registry.reload()
    assert registry.courses == {}
    assert "is not valid any more" in registry.statuses()[0].note


def test_a_deleted_course_file_removes_the_course_and_its_saved_copy(dirs, minimal):
    config, saved = dirs
    make_config(config, ("demo", minimal))
    registry = CourseRegistry(config, last_good_dir=saved)
    registry.reload()
    shutil.rmtree(config / "courses/demo")
    assert registry.reload() == []
    assert registry.courses == {}
    with pytest.raises(NotFound):
        registry.find_task("t1")
    assert not (saved / "courses/demo").exists()

    make_config(config, ("demo", broken(minimal)))  # brought back broken: nothing old comes back with it
    registry.reload()
    assert registry.courses == {}


def test_a_missing_courses_directory_keeps_the_loaded_courses(dirs, minimal):
    config, saved = dirs
    make_config(config, ("demo", minimal))
    registry = CourseRegistry(config, last_good_dir=saved)
    registry.reload()
    shutil.rmtree(config / "courses")  # e.g. an unmounted volume, not a decision to drop every course
    issues = registry.reload()
    assert len(issues) == 1 and "courses directory cannot be read" in issues[0].reason
    assert set(registry.courses) == {"demo"}
    assert (saved / "courses/demo/course.toml").exists()


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
    assert registry.problem_lines()[-1] == "courses/other/course.toml: the course in this file is not loaded"


def test_problem_lines_are_per_course_and_name_no_server_path(tmp_path, minimal):
    other = minimal.replace('id = "demo"', 'id = "other"').replace('name = "t1"', 'name = "t9"')
    config = make_config(tmp_path, ("demo", minimal), ("other", other))
    registry = CourseRegistry(config)
    registry.reload()
    (config / "courses/other/course.toml").write_text(broken(other))
    (config / "courses/unreadable/course.toml").mkdir(parents=True)  # read_bytes fails: IsADirectoryError
    registry.reload()
    assert registry.problem_lines("demo") == []
    assert registry.problem_lines("other") == [
        "courses/other/course.toml: task[0].schedule: " + registry.statuses()[1].issues[0].reason,
        "courses/other/course.toml: the last good version keeps running until the file is fixed",
    ]
    every = registry.problem_lines()
    assert "courses/unreadable/course.toml: cannot read file (Is a directory)" in every
    assert every and not any(str(tmp_path) in line for line in every)
    assert any(str(tmp_path) in str(issue) for issue in registry.issues)  # the log and CLI keep the full path


def test_problems_are_logged_once_per_change(tmp_path, minimal, caplog):
    config = make_config(tmp_path, ("demo", minimal))
    registry = CourseRegistry(config)
    with caplog.at_level(logging.INFO, logger="youlab_core.config.registry"):
        registry.reload()
        assert registry_logs(caplog) == []  # a valid start is quiet
        (config / "courses/demo/course.toml").write_text(broken(minimal))
        for _ in range(3):
            registry.reload()
        [warning] = registry_logs(caplog)
        assert warning.levelno == logging.WARNING
        assert "last good version of course 'demo'" in warning.getMessage() and "task[0].schedule" in warning.getMessage()
        assert str(config) in warning.getMessage()  # the admin's log has the server path

        (config / "courses/demo/course.toml").write_text(broken(minimal) + "\n# same problems, new text\n")
        registry.reload()
        assert len(registry_logs(caplog)) == 1  # same set of problems: not logged again

        (config / "courses/demo/course.toml").write_text(broken(minimal).replace("[[task]]", "[[task]]\nbogus = 1"))
        registry.reload()
        registry.reload()
        assert len(registry_logs(caplog)) == 2 and "bogus" in registry_logs(caplog)[-1].getMessage()

        (config / "courses/demo/course.toml").write_text(minimal)
        registry.reload()
        registry.reload()
        assert len(registry_logs(caplog)) == 3 and "is fixed" in registry_logs(caplog)[-1].getMessage()
