"""Course configuration: the TOML schema, validation with precise errors, the course registry and its saved copies."""

from .last_good import LastGoodCopies
from .loader import COURSE_FILE, course_files, load_course, parse_course, parse_course_bytes
from .registry import CourseRegistry, FileStatus
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
    "FileStatus",
    "FieldType",
    "LastGoodCopies",
    "MergeStrategy",
    "QuerySpec",
    "Scope",
    "TaskSpec",
    "course_files",
    "key_path",
    "load_course",
    "parse_course",
    "parse_course_bytes",
    "validate_course",
]
