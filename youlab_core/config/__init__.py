"""Course configuration: the TOML schema, validation with precise errors, and the course registry."""

from .loader import COURSE_FILE, CourseRegistry, course_files, load_course, parse_course
from .schema import (
    AgentSpec,
    BlockSpec,
    Course,
    FieldSpec,
    FieldType,
    MergeStrategy,
    QuerySpec,
    Scope,
    TaskSpec,
)
from .validate import key_path, validate_course

__all__ = [
    "COURSE_FILE",
    "AgentSpec",
    "BlockSpec",
    "Course",
    "CourseRegistry",
    "FieldSpec",
    "FieldType",
    "MergeStrategy",
    "QuerySpec",
    "Scope",
    "TaskSpec",
    "course_files",
    "key_path",
    "load_course",
    "parse_course",
    "validate_course",
]
