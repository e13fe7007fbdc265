"""`manual`: an admin asks for a run. A task with `manual = false` refuses."""

from __future__ import annotations

from ..config import TaskSpec
from ..errors import ManualRunRefused


def check_manual(task: TaskSpec) -> None:
    if not task.manual:
        raise ManualRunRefused(f"task {task.name!r} does not allow manual runs (its course file says manual = false)")
