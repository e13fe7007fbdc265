"""Who may see a course's dashboard and act on it, and the record of every read of a student's memory values
(docs/dashboard.md).

Everything here comes from the server: the user's role and id as Open WebUI hands them to a function, the groups they
are a member of in Open WebUI's database, the course from the thread registry, Open WebUI's own
ENABLE_ADMIN_CHAT_ACCESS. No field of a request switches a rule off. The rule itself is `youlab_core.dashboard.access`.

A read of a student's memory values by anyone else is committed into that student's own repository
(`ACCESS_LOG`, one JSON line per read: who, their role, when, which course), before the values are shown; the
student's memory view lists these ("Who looked at your memory").
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ..config import Course
from ..dashboard import Access, access
from ..errors import PermissionDenied
from ..openwebui import internals as owui

ACCESS_LOG = "access_log.jsonl"  # at the top of the student's repository
NOT_A_VIEWER = ("The course dashboard is for Open WebUI administrators and this course's teachers; you cannot see or "
             "change it.")


class DashboardRefused(PermissionDenied):
    """A user who may not see or act on this course's dashboard (or this chat is not their dashboard)."""


@dataclass(frozen=True)
class Viewer:
    """The acting user as Open WebUI's server says (the function's `__user__`), never as the request body says."""

    id: str
    role: str
    name: str = ""
    email: str = ""

    @classmethod
    def of(cls, user: Any) -> Viewer:
        u = user if isinstance(user, dict) else {}
        return cls(str(u.get("id") or ""), str(u.get("role") or ""), str(u.get("name") or ""),
                   str(u.get("email") or ""))

    @property
    def label(self) -> str:
        """"Ada Lovelace (ada@example.org)": how actions and reads are recorded and shown."""
        if self.name and self.email:
            return f"{self.name} ({self.email})"
        return self.name or self.email or self.id


GroupsOf = Callable[[str], Awaitable[set[str]]]


async def groups_of(user_id: str) -> set[str]:
    """The names of the Open WebUI groups the user is a member of."""
    names = set()
    for group in await owui.all_groups():
        if user_id in set(await owui.group_user_ids(group.id)):
            names.add(str(group.name))
    return names


def admin_chat_access() -> bool:
    """Open WebUI's ENABLE_ADMIN_CHAT_ACCESS (on by default): whether admins may read users' chats, and here their
    memory values. Inside Open WebUI its own value; elsewhere the environment read the way Open WebUI reads it
    (importing open_webui.env outside its server would start its configuration)."""
    env = sys.modules.get("open_webui.env")
    if env is not None and hasattr(env, "ENABLE_ADMIN_CHAT_ACCESS"):
        return bool(env.ENABLE_ADMIN_CHAT_ACCESS)
    return os.environ.get("ENABLE_ADMIN_CHAT_ACCESS", "True").lower() == "true"


async def check(viewer: Viewer, course: Course, *, groups: GroupsOf = groups_of,
                admin_chat: Callable[[], bool] = admin_chat_access) -> Access:
    """The viewer's access to the course; refuses (DashboardRefused) anyone who may not see it."""
    if not viewer.id:
        raise DashboardRefused(NOT_A_VIEWER)
    found = access(course, role=viewer.role, groups=await groups(viewer.id) if viewer.role != "admin" else set(),
                   admin_chat_access=admin_chat())
    if not found.allowed:
        raise DashboardRefused(NOT_A_VIEWER)
    return found


def record_read(memory: Any, viewer: Viewer, role: str, course_id: str, at: datetime) -> str:
    """Commit one line "who read this student's memory values, when, in which course" into the student's repository
    (blocking; call through asyncio.to_thread). Returns the commit id. The values are shown only after this."""
    repo = memory.repo
    repo.ensure(owner=memory.user_id)
    line = json.dumps({"at": at.isoformat(), "by": viewer.label, "user_id": viewer.id, "role": role,
                       "course": course_id, "what": "memory values"}, ensure_ascii=False, sort_keys=True)
    with repo.locked(exclusive=True):
        text = (repo.read_text(ACCESS_LOG) or "") + line + "\n"
        return str(repo.commit({ACCESS_LOG: text}, message=f"{viewer.label} ({role}) read this memory in {course_id}",
                               author=f"{role}:{viewer.id}", when=at))


def access_records(memory: Any) -> list[dict[str, str]]:
    """Every recorded read of the student's memory by someone else, newest first."""
    text = memory.repo.read_text(ACCESS_LOG) if memory.repo.exists() else None
    out = []
    for line in (text or "").splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if isinstance(entry, dict):
            out.append({k: str(v) for k, v in entry.items()})
    return list(reversed(out))


def who_looked(memory: Any, course_id: str | None = None, limit: int = 20) -> str:
    """The memory view's "Who looked at your memory" section for one course (every course: None); "" when nobody
    did. Blocking (one file read)."""
    records = [r for r in access_records(memory) if course_id in (None, r.get("course"))]
    if not records:
        return ""
    lines = ["### Who looked at your memory", ""]
    for r in records[:limit]:
        at = datetime.fromisoformat(r["at"])
        role = "an administrator" if r.get("role") == "admin" else "a teacher"
        lines.append(f"- {r['by']} ({role}), {at:%b} {at.day}, {at.year} {at:%H:%M} UTC")
    if len(records) > limit:
        lines.append(f"- and {len(records) - limit} earlier; every one is in your downloaded data's history")
    return "\n".join(lines)
