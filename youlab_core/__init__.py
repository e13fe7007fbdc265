"""YouLab background agents for Open WebUI: the core library.

Importable without Open WebUI. The plugins in `plugins/` are thin wrappers around it.
"""

from .config import Course, CourseRegistry, TaskSpec, load_course
from .errors import (
    ConfigError,
    ConfigIssue,
    InvalidUserId,
    ManualRunRefused,
    NotFound,
    PermissionDenied,
    ProposalRefused,
    StaleDiff,
    UserFacingError,
    YoulabError,
)
from .settings import Settings

__version__ = "0.1.0"

__all__ = [
    "ConfigError",
    "ConfigIssue",
    "Course",
    "CourseRegistry",
    "InvalidUserId",
    "ManualRunRefused",
    "NotFound",
    "PermissionDenied",
    "ProposalRefused",
    "Settings",
    "StaleDiff",
    "TaskSpec",
    "UserFacingError",
    "YoulabError",
    "load_course",
]
