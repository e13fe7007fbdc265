"""The project's exceptions, in one tree, and the one rule that says which failures are worth retrying.

Every error this library raises on purpose derives from `YoulabError`:

    YoulabError                      transient = False unless the instance says otherwise
    ├── UserFacingError              str() is shown to a student or admin as it is: plain words, no server paths
    │   ├── ConfigError              a course file or setting was refused (lists every issue)
    │   ├── InvalidUserId            a student id that is unusable as a storage name
    │   ├── NotFound                 a block, field, diff, task or course that does not exist
    │   ├── PermissionDenied         the caller may not see or act on this object
    │   ├── ProposalRefused          a merge could not turn an insight into a value (shown in run reports)
    │   ├── StaleDiff                the field changed after the diff was proposed
    │   ├── ManualRunRefused         a manual run of a task with `manual = false`
    │   └── ReviewError, DiffClosed, ReadOnlyThread (bundle.review, memory.diffs, bundle.filter)
    ├── LLMError, DialecticError, OpenWebUIError, LettaSyncError, CallTimeout: calls to other services, with
    │   `transient` set per instance (a timeout, 429 or 5xx is transient; a 400 is not)
    └── InvalidFieldValue, BlockFileError, ValveError, PluginError, LaunchError: refusals that name the file or
        value (for logs and the command line)

Plugins catch `UserFacingError` alone and show its text; any other exception is logged with its detail and the
person sees a fixed plain sentence instead. `is_transient(exc)` (youlab_core.transient) is the one decision of
whether a failure, ours or a dependency's (httpx, honcho, letta-client, OSError), is worth retrying.
"""

from __future__ import annotations

from dataclasses import dataclass


class YoulabError(Exception):
    """Base class of every error this library raises on purpose.

    `transient`: worth retrying (the service may answer next time). The class default is False; an instance may
    say otherwise (`LLMError("...", transient=True)`). `retry_after`: seconds the service asked us to wait, if it said.
    """

    transient: bool = False
    retry_after: float | None = None

    def __init__(self, *args: object, transient: bool | None = None, retry_after: float | None = None):
        super().__init__(*args)
        if transient is not None:
            self.transient = transient
        if retry_after is not None:
            self.retry_after = retry_after


class UserFacingError(YoulabError):
    """An error whose text a student or admin is shown as it is.

    Raisers write `str()` as plain words that name what was wrong and where (a course, a field, a change), never a
    server path or Python exception text, so a plugin can catch this one type and show it.
    """


@dataclass(frozen=True)
class ConfigIssue:
    """One problem in one course file: the file, the key path inside it, and why."""

    file: str
    key: str
    reason: str

    def __str__(self) -> str:
        where = f"{self.file}: {self.key}" if self.key else self.file
        return f"{where}: {self.reason}"


class ConfigError(UserFacingError):
    """A course file (or several) was refused. `issues` lists every problem found, not only the first."""

    def __init__(self, issues: list[ConfigIssue]):
        self.issues = list(issues)
        super().__init__("\n".join(str(i) for i in self.issues) or "invalid configuration")


class InvalidUserId(UserFacingError):
    """A student id that could name a path outside the storage root, or is otherwise unusable."""


class NotFound(UserFacingError):
    """A block, field, diff, task or course that does not exist."""


class PermissionDenied(UserFacingError):
    """The caller may not see or act on this object."""


class ProposalRefused(UserFacingError):
    """A merge strategy could not turn an insight into a value for the field (the reason says why)."""


class StaleDiff(UserFacingError):
    """The field changed after the diff was proposed, so the diff cannot be approved as it stands."""


class ManualRunRefused(UserFacingError):
    """A manual run of a task whose course file says `manual = false`."""


def user_message(exc: BaseException, fallback: str) -> str:
    """What a person is shown for `exc`: its own text when it is a `UserFacingError`, else `fallback`."""
    return str(exc) if isinstance(exc, UserFacingError) and str(exc) else fallback
