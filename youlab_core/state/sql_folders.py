"""The agent folders the bundle created (part of the `ThreadRegistry` role) on SQLite/PostgreSQL.

Kept apart from the thread rows in sql_records.py: a folder is recorded once per (student, task) and outlives the
threads written into it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, select

from .records import AgentFolderRecord, from_epoch, to_epoch
from .sql_base import SqlBase
from .tables import agent_folders


def _folder(r: Any) -> AgentFolderRecord:
    return AgentFolderRecord(r.folder_id, r.user_id, r.task, r.course_id, from_epoch(r.created_at))  # type: ignore[arg-type]


class FolderStoreMixin(SqlBase):
    def record_folder(
        self, folder_id: str, user_id: str, task: str, course_id: str, created_at: datetime | None = None
    ) -> None:
        at = to_epoch(created_at) if created_at is not None else self._now()
        stmt = self._insert(agent_folders).values(folder_id=folder_id, user_id=user_id, task=task, course_id=course_id,
                                                  created_at=at)
        with self._writing() as conn:
            conn.execute(stmt.on_conflict_do_nothing(index_elements=[agent_folders.c.folder_id]))

    def agent_folders(self, user_id: str, task: str) -> list[AgentFolderRecord]:
        query = (select(agent_folders).where(agent_folders.c.user_id == user_id, agent_folders.c.task == task)
                 .order_by(agent_folders.c.created_at.desc(), agent_folders.c.folder_id))
        with self.engines.read.connect() as conn:
            return [_folder(r) for r in conn.execute(query)]

    def forget_folder(self, folder_id: str) -> None:
        with self._writing() as conn:
            conn.execute(delete(agent_folders).where(agent_folders.c.folder_id == folder_id))
