"""Which students a task covers: those active in its course, narrowed by the task's `user_filter`.

`user_filter = "all"` covers every active student. A list covers the union of its entries: a plain entry is a
user id, `group:<name>` is every member of that Open WebUI group at the time of the decision. An unknown group
covers nobody (and is logged by the resolver): a typo must not widen an agent's reach.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Protocol

from ..config import TaskSpec


class GroupResolver(Protocol):
    def members(self, group_name: str) -> set[str]:
        """User ids in the group named `group_name` (empty when there is no such group)."""
        ...


class StaticGroupResolver:
    """Groups given as a mapping (tests, the CLI). Inside Open WebUI the bundle resolves real groups."""

    def __init__(self, groups: Mapping[str, Iterable[str]] | None = None):
        self._groups = {name: set(ids) for name, ids in (groups or {}).items()}

    def members(self, group_name: str) -> set[str]:
        return set(self._groups.get(group_name, set()))


def resolve_user_filter(task: TaskSpec, resolver: GroupResolver | None) -> set[str] | None:
    """The user ids a task's filter allows, or None for "all"."""
    explicit = task.user_ids()
    if explicit is None:
        return None
    allowed = set(explicit)
    for group in task.group_names():
        if resolver is not None:
            allowed |= resolver.members(group)
    return allowed


def user_filter_allows(task: TaskSpec, user_id: str, resolver: GroupResolver | None) -> bool:
    allowed = resolve_user_filter(task, resolver)
    return allowed is None or user_id in allowed


def covered_users(active: Iterable[str], task: TaskSpec, resolver: GroupResolver | None) -> list[str]:
    """The active students (in their given order) the task's filter allows."""
    allowed = resolve_user_filter(task, resolver)
    return [u for u in active if allowed is None or u in allowed]
