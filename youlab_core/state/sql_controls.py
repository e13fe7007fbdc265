"""Paused tasks and the record of who paused and resumed them (the `TaskControlStore` role) on SQLite/PostgreSQL.

A pause is a row in `youlab_task_pauses`, so it survives a restart and every process sees it; the change and its
entry in `youlab_task_actions` are written in one transaction, so the record never disagrees with the state."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select

from .records import TaskAction, TaskPause, from_epoch
from .sql_base import SqlBase
from .tables import task_actions, task_pauses


def _pause(r: Any) -> TaskPause:
    return TaskPause(r.task, r.course_id, from_epoch(r.paused_at), r.paused_by, r.note or "")  # type: ignore[arg-type]


def _action(r: Any) -> TaskAction:
    return TaskAction(r.task, r.course_id, r.action, r.actor, from_epoch(r.at), r.note or "")  # type: ignore[arg-type]


class ControlStoreMixin(SqlBase):
    def pause_task(self, task: str, course_id: str, actor: str, note: str = "") -> bool:
        at = self._now()
        stmt = self._insert(task_pauses).values(task=task, course_id=course_id, paused_at=at, paused_by=actor, note=note)
        with self._writing() as conn:
            # RETURNING, not rowcount: the PostgreSQL driver does not count an INSERT ... ON CONFLICT row reliably.
            stmt = stmt.on_conflict_do_nothing(index_elements=[task_pauses.c.task]).returning(task_pauses.c.task)
            done = conn.execute(stmt).first() is not None
            if done:
                conn.execute(task_actions.insert().values(task=task, course_id=course_id, action="pause", actor=actor,
                                                          at=at, note=note))
        return done

    def resume_task(self, task: str, course_id: str, actor: str, note: str = "") -> bool:
        with self._writing() as conn:
            done = conn.execute(delete(task_pauses).where(task_pauses.c.task == task).returning(task_pauses.c.task)).first() is not None
            if done:
                conn.execute(task_actions.insert().values(task=task, course_id=course_id, action="resume", actor=actor,
                                                          at=self._now(), note=note))
        return done

    def paused_tasks(self) -> dict[str, TaskPause]:
        with self.engines.read.connect() as conn:
            return {r.task: _pause(r) for r in conn.execute(select(task_pauses))}

    def is_paused(self, task: str) -> bool:
        with self.engines.read.connect() as conn:
            return conn.execute(select(task_pauses.c.task).where(task_pauses.c.task == task)).first() is not None

    def task_actions(self, task: str | None = None, limit: int = 50) -> list[TaskAction]:
        query = select(task_actions)
        if task:
            query = query.where(task_actions.c.task == task)
        query = query.order_by(task_actions.c.at.desc(), task_actions.c.id.desc()).limit(limit)
        with self.engines.read.connect() as conn:
            return [_action(r) for r in conn.execute(query)]
