"""Reading and validating course files from disk (the registry that watches them is in registry.py)."""

from __future__ import annotations

import tomllib
from pathlib import Path

from ..errors import ConfigError, ConfigIssue
from .schema import Course
from .validate import validate_course

COURSE_FILE = "course.toml"


def parse_course(text: str, file: str) -> Course:
    """Parse and validate one course document. Raises ConfigError listing every problem."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError([ConfigIssue(file, "", f"not valid TOML: {exc}")]) from None
    course, issues = validate_course(raw, file)
    if course is None:
        raise ConfigError(issues)
    return course


def load_course(path: str | Path) -> Course:
    """Load one course file. Raises ConfigError (never anything else for a bad file)."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ConfigError([ConfigIssue(str(path), "", f"cannot read file: {exc.strerror or exc}")]) from None
    return parse_course_bytes(data, str(path))


def parse_course_bytes(data: bytes, file: str) -> Course:
    """Decode and validate the bytes of a course file. Raises ConfigError listing every problem."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError([ConfigIssue(file, "", f"not UTF-8 text (byte {exc.start})")]) from None
    return parse_course(text, file)


def course_files(config_dir: str | Path) -> list[Path]:
    """`<config_dir>/courses/*/course.toml`, sorted, so that conflicts resolve the same way every time."""
    return sorted(Path(config_dir, "courses").glob(f"*/{COURSE_FILE}"))
