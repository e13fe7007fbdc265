"""Paused tasks and the record of who paused and resumed them (the `TaskControlStore` role) on SQLite/PostgreSQL.

A pause is a row in `youlab_task_pauses`, so it survives a restart and every process sees it; the change and its
entry in `youlab_task_actions` are written in one transaction, so the record never disagrees with the state."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select

from .records import Heartbeat, TaskAction, TaskPause, from_epoch
from .sql_base import SqlBase
from .tables import heartbeats, task_actions, task_pauses

HEARTBEATS_KEPT_SECONDS = 7 * 86400  # a process silent this long is gone (restarted under a new owner): forget it


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

    def record_task_action(self, task: str, course_id: str, action: str, actor: str, note: str = "") -> None:
        with self._writing() as conn:
            conn.execute(task_actions.insert().values(task=task, course_id=course_id, action=action, actor=actor,
                                                      at=self._now(), note=note))

    def record_heartbeat(self, owner: str, kind: str = "scheduler") -> None:
        at = self._now()
        stmt = self._insert(heartbeats).values(owner=owner, kind=kind, started_at=at, at=at)
        with self._writing() as conn:
            conn.execute(stmt.on_conflict_do_update(index_elements=[heartbeats.c.owner], set_={"at": at}))
            conn.execute(delete(heartbeats).where(heartbeats.c.at < at - HEARTBEATS_KEPT_SECONDS))

    def heartbeats(self) -> list[Heartbeat]:
        with self.engines.read.connect() as conn:
            rows = conn.execute(select(heartbeats).order_by(heartbeats.c.at.desc(), heartbeats.c.owner))
            return [Heartbeat(r.owner, r.kind, from_epoch(r.started_at), from_epoch(r.at))  # type: ignore[arg-type]
                    for r in rows]
