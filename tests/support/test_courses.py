"""The course builder writes TOML that reads back as what it was given, and its defaults are a valid course."""

from __future__ import annotations

import tomllib
from datetime import UTC, datetime
from pathlib import Path

import pytest

from youlab_core.config import CourseRegistry, parse_course

from .courses import block, course_toml, query, task, toml_value, write_course


def test_defaults_are_the_smallest_valid_course() -> None:
    course = parse_course(course_toml(), "demo/course.toml")
    assert (course.id, course.agent.name, course.agent.models) == ("demo", "Demo", ["demo-tutor"])
    assert list(course.blocks) == ["student"] and list(course.blocks["student"].fields) == ["notes"]
    [only] = course.tasks
    assert only.name == "t1" and only.manual and [(q.target, q.question) for q in only.queries] == [("student.notes", "What?")]


def test_every_value_reads_back_unchanged() -> None:
    awkward = 'quote " backslash \\ tab \t newline \n bell \x07 delete \x7f ünïcode'
    when = datetime(2026, 3, 1, 12, 30, tzinfo=UTC)
    text = course_toml(
        "odd-course", name=awkward, models=["a", "b"], system="line one\nline two",
        blocks={"profile": block({"seen": {"type": "datetime", "default": when}, "score": {"type": "float", "default": 0.5},
                                  "tags": {"type": "list", "default": [], "max": 3}}, title="About you"),
                "odd key": block()},
        tasks=[task("every", schedule="* * * * *", on_idle=True, after_messages=3, manual=False, batch_size=2,
                    user_filter=["u1", "group:cohort"], queries=[query("profile.tags", "Q?", merge="append"), query()])],
    )
    assert tomllib.loads(text) == {
        "agent": {"id": "odd-course", "name": awkward, "models": ["a", "b"], "system": "line one\nline two"},
        "block": {"profile": {"title": "About you", "field": {"seen": {"type": "datetime", "default": when},
                                                             "score": {"type": "float", "default": 0.5},
                                                             "tags": {"type": "list", "default": [], "max": 3}}},
                  "odd key": {"field": {"notes": {"type": "string"}}}},
        "task": [{"name": "every", "schedule": "* * * * *", "on_idle": True, "after_messages": 3, "manual": False,
                  "batch_size": 2, "user_filter": ["u1", "group:cohort"],
                  "queries": [{"target": "profile.tags", "question": "Q?", "merge": "append"},
                              {"target": "student.notes", "question": "What?"}]}],
    }


def test_floats_and_unknown_values() -> None:
    assert [tomllib.loads(f"x = {toml_value(v)}")["x"] for v in (1e20, -0.25, float("inf"))] == [1e20, -0.25, float("inf")]
    with pytest.raises(TypeError, match="no TOML form for object"):
        toml_value(object())


def test_write_course_files_it_under_its_id(tmp_path: Path) -> None:
    path = write_course(tmp_path / "config", course_toml("essay"))
    assert path == tmp_path / "config" / "courses" / "essay" / "course.toml"
    registry = CourseRegistry(tmp_path / "config")
    assert registry.reload() == [] and list(registry.courses) == ["essay"]
    assert write_course(tmp_path / "config", course_toml("essay"), folder="other").parent.name == "other"
