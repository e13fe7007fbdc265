"""One active bundle per process: the one whose background parts (scheduler loop, Honcho mirror, activity worker,
course-file watcher) run.

Open WebUI re-executes a plugin file on every save and once per worker, but `youlab_core` is imported once per
process, so this module's state is the process's. When the stored valves change, the active bundle's watcher (or
the Pipe or an Action, which read them on each call) makes a Bundle with the new settings; starting it makes it the
active one and stops the previous one's parts first (its scheduler gives back the claims it could not finish, so
another process, or the new scheduler, takes them). Every valve therefore reaches every part within
`config_check_seconds`; chat messages use the active bundle and read no valves (context.current_bundle).
"""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .context import Bundle

log = logging.getLogger(__name__)

_lock = threading.Lock()
_active: Bundle | None = None


def active_bundle() -> Bundle | None:
    return _active


async def activate(bundle: Bundle) -> None:
    """Make `bundle` the process's active bundle, stopping the previous one's background parts."""
    global _active
    with _lock:
        previous, _active = _active, bundle
    if previous is not None and previous is not bundle:
        log.info("YouLab settings changed: the background parts restart with the new settings")
        await previous.stop_background()


async def deactivate(grace_seconds: float | None = None) -> None:
    """Stop the active bundle's background parts (tests, shutdown)."""
    global _active
    with _lock:
        previous, _active = _active, None
    if previous is not None:
        await previous.stop_background(grace_seconds)

