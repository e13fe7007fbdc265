"""The agent folders: one per (student, agent), created by the bundle and recorded, and the only folders a run
thread is ever written into.

A folder counts as the agent's only if the bundle created it (the thread registry records it) and it still carries
the meta the bundle gave it; a renamed or moved folder is still the agent's. A folder the student made is never
used, even one whose meta says `type = background_agent` (anyone can set a folder's meta through Open WebUI's API).
A recorded folder that was deleted or whose meta was changed is forgotten and a new one is created for the next run.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime
from typing import TYPE_CHECKING

from .backend import ChatBackend
from .model import FolderRecord, folder_meta

if TYPE_CHECKING:
    from ..state import ThreadRegistry

log = logging.getLogger(__name__)


def free_name(agent_name: str, taken: set[str]) -> str:
    """The agent's name, or "<name> (agent)", "<name> (3)"... when the student already has a folder by that name."""
    name, suffix = agent_name, 1
    while name.lower() in taken:
        suffix += 1
        name = f"{agent_name} ({suffix})" if suffix > 2 else f"{agent_name} (agent)"
    return name


class AgentFolders:
    """Finds or creates a student's folder of an agent. Without a registry (tests, benchmarks) the folders this
    object created are remembered in memory instead, so the rule is the same: only folders it made."""

    def __init__(self, backend: ChatBackend, registry: ThreadRegistry | None):
        self.backend = backend
        self.registry = registry
        self._made: dict[tuple[str, str], list[str]] = {}  # (user, task) -> folder ids, when there is no registry
        # One lock per (user, task): two runs of one agent for one student in this process never race to create
        # the folder. Across processes the scheduler's claims already keep one run per (user, task) at a time.
        self._locks: dict[tuple[str, str], asyncio.Lock] = {}

    def _recorded(self, user_id: str, task: str) -> list[str]:
        if self.registry is not None:
            return [f.folder_id for f in self.registry.agent_folders(user_id, task)]
        return list(reversed(self._made.get((user_id, task), [])))

    def _record(self, folder: FolderRecord, task: str, course_id: str, at: datetime) -> None:
        if self.registry is not None:
            self.registry.record_folder(folder.id, folder.user_id, task, course_id, at)
        else:
            self._made.setdefault((folder.user_id, task), []).append(folder.id)

    def _forget(self, user_id: str, task: str, folder_id: str) -> None:
        if self.registry is not None:
            self.registry.forget_folder(folder_id)
        elif folder_id in self._made.get((user_id, task), []):
            self._made[(user_id, task)].remove(folder_id)

    async def find(self, user_id: str, task: str, course_id: str) -> FolderRecord | None:
        """The newest recorded folder that still exists with the bundle's meta; recorded folders that were deleted
        or altered are forgotten on the way."""
        wanted = folder_meta(task, course_id)
        for folder_id in self._recorded(user_id, task):
            folder = await self.backend.get_folder(folder_id)
            meta = folder.meta if folder is not None else {}
            if folder is not None and folder.user_id == user_id and all(meta.get(k) == v for k, v in wanted.items()):
                return folder
            log.info("agent folder %s of %s/%s was %s: a new one is made", folder_id, user_id, task,
                     "deleted" if folder is None else "altered")
            self._forget(user_id, task, folder_id)
        return None

    async def ensure(self, user_id: str, task: str, agent_name: str, course_id: str, now: datetime) -> FolderRecord:
        async with self._locks.setdefault((user_id, task), asyncio.Lock()):
            found = await self.find(user_id, task, course_id)
            if found is not None:
                return found
            taken = {f.name.lower() for f in await self.backend.list_folders(user_id) if f.parent_id is None}
            folder = await self.backend.create_folder(user_id, free_name(agent_name, taken), folder_meta(task, course_id))
            self._record(folder, task, course_id, now)
            return folder
