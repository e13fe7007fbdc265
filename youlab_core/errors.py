"""The project's exceptions. Every error a user can cause names what was wrong and where."""

from __future__ import annotations

from dataclasses import dataclass


class YoulabError(Exception):
    """Base class of every error this library raises on purpose."""


@dataclass(frozen=True)
class ConfigIssue:
    """One problem in one course file: the file, the key path inside it, and why."""

    file: str
    key: str
    reason: str

    def __str__(self) -> str:
        where = f"{self.file}: {self.key}" if self.key else self.file
        return f"{where}: {self.reason}"


class ConfigError(YoulabError):
    """A course file (or several) was refused. `issues` lists every problem found, not only the first."""

    def __init__(self, issues: list[ConfigIssue]):
        self.issues = list(issues)
        super().__init__("\n".join(str(i) for i in self.issues) or "invalid configuration")


class InvalidUserId(YoulabError):
    """A student id that could name a path outside the storage root, or is otherwise unusable."""


class NotFound(YoulabError):
    """A block, field, diff, task or course that does not exist."""


class PermissionDenied(YoulabError):
    """The caller may not see or act on this object."""


class ProposalRefused(YoulabError):
    """A merge strategy could not turn an insight into a value for the field (the reason says why)."""


class StaleDiff(YoulabError):
    """The field changed after the diff was proposed, so the diff cannot be approved as it stands."""


class ManualRunRefused(YoulabError):
    """A manual run of a task whose course file says `manual = false`."""
