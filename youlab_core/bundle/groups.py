"""`GroupResolver` for task `user_filter = ["group:<name>"]` entries, from Open WebUI's groups.

The scheduler asks synchronously, Open WebUI's Groups API is async: members are served from a cache that is
refreshed in the background when older than REFRESH_SECONDS (the first answer for a new group may be empty; the
next tick sees it)."""

from __future__ import annotations

import asyncio
import logging
import time

from ..openwebui import internals as owui

log = logging.getLogger(__name__)

REFRESH_SECONDS = 60.0


class OpenWebUIGroups:
    def __init__(self) -> None:
        self._members: dict[str, set[str]] = {}
        self._fetched_at: float | None = None
        self._refreshing = False

    def members(self, group_name: str) -> set[str]:
        if self._fetched_at is None or time.monotonic() - self._fetched_at > REFRESH_SECONDS:
            self._schedule_refresh()
        return set(self._members.get(group_name.lower(), set()))

    def _schedule_refresh(self) -> None:
        if self._refreshing:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        self._refreshing = True
        loop.create_task(self.refresh())

    async def refresh(self) -> None:
        try:
            members: dict[str, set[str]] = {}
            for group in await owui.all_groups():
                members[group.name.lower()] = set(await owui.group_user_ids(group.id))
            self._members = members
            self._fetched_at = time.monotonic()
        except Exception:
            log.exception("Open WebUI groups could not be read; group user filters use the last known members")
        finally:
            self._refreshing = False
