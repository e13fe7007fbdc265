"""Activity, trigger state and task cursors on SQLite/PostgreSQL."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Float, and_, bindparam, case, func, or_, select, text, update

from .records import Activity, TaskCursor, TriggerState, from_epoch, to_epoch
from .sql_base import SqlBase, least
from .tables import activity, task_cursor, trigger_state

ts = trigger_state

# A student's message, counted: written as SQL text (valid on SQLite and PostgreSQL) because SQLAlchemy never caches
# the compiled form of a dialect's INSERT ... ON CONFLICT, so the construct was compiled again on every message: about
# 1 ms of CPU, most of what counting a message cost. max() on last_message_at, so a message recorded late never
# moves the time backwards.
RECORD_MESSAGE = text(
    "INSERT INTO youlab_activity (user_id, course_id, first_message_at, last_message_at, message_count) "
    "VALUES (:user_id, :course_id, :at, :at, 1) "
    "ON CONFLICT (user_id, course_id) DO UPDATE SET "
    "last_message_at = CASE WHEN excluded.last_message_at > youlab_activity.last_message_at "
    "THEN excluded.last_message_at ELSE youlab_activity.last_message_at END, "
    "message_count = youlab_activity.message_count + 1 "
    "RETURNING message_count"
).bindparams(bindparam("at", type_=Float))


def _activity(row: Any) -> Activity:
    return Activity(row.user_id, row.course_id, from_epoch(row.first_message_at), from_epoch(row.last_message_at), row.message_count)  # type: ignore[arg-type]


class TriggerStoreMixin(SqlBase):
    # --- activity ---
    def record_message(self, user_id: str, course_id: str, at: datetime) -> None:
        self.record_messages([(user_id, course_id, at)])

    def record_messages(self, messages: Sequence[tuple[str, str, datetime]]) -> dict[tuple[str, str], int]:
        # One transaction for the lot: a busy process commits once per batch.
        counts: dict[tuple[str, str], int] = {}
        if not messages:
            return counts
        with self._writing() as conn:
            for user_id, course_id, at in messages:
                params = {"user_id": user_id, "course_id": course_id, "at": to_epoch(at)}
                counts[(user_id, course_id)] = int(conn.execute(RECORD_MESSAGE, params).scalar_one())
        return counts

    def activity(self, user_id: str, course_id: str) -> Activity | None:
        with self.engines.read.connect() as conn:
            row = conn.execute(select(activity).where(activity.c.user_id == user_id, activity.c.course_id == course_id)).first()
        return _activity(row) if row else None

    def activities(self, course_id: str, user_ids: Sequence[str]) -> dict[str, Activity]:
        ids = list(dict.fromkeys(user_ids))
        found: dict[str, Activity] = {}
        with self.engines.read.connect() as conn:
            for start in range(0, len(ids), 500):
                query = select(activity).where(activity.c.course_id == course_id, activity.c.user_id.in_(ids[start : start + 500]))
                found.update((r.user_id, _activity(r)) for r in conn.execute(query))
        return found

    def active_users(self, course_id: str) -> list[str]:
        with self.engines.read.connect() as conn:
            return list(conn.execute(select(activity.c.user_id).where(activity.c.course_id == course_id).order_by(activity.c.user_id)).scalars())

    def idle_candidates(self, course_id: str, after: float, until: float, limit: int) -> list[Activity]:
        query = (
            select(activity)
            .where(activity.c.course_id == course_id, activity.c.last_message_at > after, activity.c.last_message_at <= until)
            .order_by(activity.c.last_message_at)
            .limit(limit)
        )
        with self.engines.read.connect() as conn:
            return [_activity(r) for r in conn.execute(query)]

    # --- trigger state ---
    def trigger_state(self, task: str, user_id: str) -> TriggerState | None:
        with self.engines.read.connect() as conn:
            r = conn.execute(select(ts).where(ts.c.task == task, ts.c.user_id == user_id)).first()
        if r is None:
            return None
        return TriggerState(
            r.task, r.user_id, r.course_id, from_epoch(r.next_due_at), r.due_kind, from_epoch(r.last_run_at),
            from_epoch(r.last_fire_at), r.messages_at_last_run, r.runs, r.failures, r.attempts, r.run_id,
            r.claim_owner, from_epoch(r.claim_expires_at),
        )

    def last_runs(self, task: str, user_ids: Sequence[str]) -> dict[str, tuple[datetime | None, bool]]:
        """For each user that has trigger state: (last run start, whether a claim is held now)."""
        result: dict[str, tuple[datetime | None, bool]] = {}
        ids = list(user_ids)
        with self.engines.read.connect() as conn:
            for start in range(0, len(ids), 500):
                query = select(ts.c.user_id, ts.c.last_run_at, ts.c.claim_token).where(
                    ts.c.task == task, ts.c.user_id.in_(ids[start : start + 500])
                )
                for r in conn.execute(query):
                    result[r.user_id] = (from_epoch(r.last_run_at), r.claim_token is not None)
        return result

    def _offer_stmt(self) -> Any:
        stmt = self._insert(ts)
        new = stmt.excluded
        unclaimed = ts.c.claim_token.is_(None)
        earlier = or_(ts.c.next_due_at.is_(None), new.next_due_at < ts.c.next_due_at)
        # An unclaimed row with attempts left is a failed run waiting for its retry time: nothing moves that
        # earlier (the backoff holds), and the retry, which runs after this fire or idle time, covers it.
        moves = and_(unclaimed, ts.c.attempts == 0, earlier)
        return stmt.on_conflict_do_update(
            index_elements=[ts.c.task, ts.c.user_id],
            set_={
                "next_due_at": case((moves, new.next_due_at), else_=ts.c.next_due_at),
                "due_kind": case((moves, new.due_kind), else_=ts.c.due_kind),
                # A claimed row keeps a schedule fire for after its run; idle and count triggers are recomputed
                # when the run completes, so they need no memory here.
                "rerun_due_at": case(
                    (or_(unclaimed, new.due_kind != "schedule"), ts.c.rerun_due_at),
                    else_=least(ts.c.rerun_due_at, new.next_due_at),
                ),
            },
        )

    def offer_due(self, task: str, course_id: str, items: Sequence[tuple[str, datetime, str]]) -> None:
        if not items:
            return
        rows = [
            {"task": task, "user_id": u, "course_id": course_id, "next_due_at": to_epoch(due), "due_kind": kind,
             "messages_at_last_run": 0, "runs": 0, "failures": 0, "attempts": 0}
            for u, due, kind in items
        ]
        with self._writing() as conn:
            conn.execute(self._offer_stmt(), rows)

    # --- task cursors ---
    def task_cursor(self, task: str) -> TaskCursor | None:
        with self.engines.read.connect() as conn:
            r = conn.execute(select(task_cursor).where(task_cursor.c.task == task)).first()
        if r is None:
            return None
        return TaskCursor(
            r.task, r.course_id, r.schedule, from_epoch(r.next_fire_at), from_epoch(r.last_fire_at), r.fires,
            r.skipped_total, from_epoch(r.last_skip_at), r.last_skip_count, r.idle_swept_until,
        )

    def task_cursors(self) -> list[TaskCursor]:
        with self.engines.read.connect() as conn:
            names = conn.execute(select(task_cursor.c.task).order_by(task_cursor.c.task)).scalars().all()
        return [c for c in (self.task_cursor(n) for n in names) if c is not None]

    def pending_counts(self, now: datetime) -> dict[str, tuple[int, int, int]]:
        """Per task: (due now and unclaimed, due later, claimed)."""
        at = to_epoch(now)
        claimed = ts.c.claim_token.is_not(None) & (ts.c.claim_expires_at >= at)
        query = (
            select(
                ts.c.task,
                func.sum(case((and_(ts.c.next_due_at <= at, ~claimed), 1), else_=0)),
                func.sum(case((and_(ts.c.next_due_at > at, ~claimed), 1), else_=0)),
                func.sum(case((claimed, 1), else_=0)),
            )
            .where(or_(ts.c.next_due_at.is_not(None), ts.c.claim_token.is_not(None)))
            .group_by(ts.c.task)
        )
        with self.engines.read.connect() as conn:
            return {r[0]: (int(r[1] or 0), int(r[2] or 0), int(r[3] or 0)) for r in conn.execute(query)}

    def _ensure_cursor(self, conn: Any, task: str, course_id: str) -> None:
        stmt = self._insert(task_cursor).values(
            task=task, course_id=course_id, fires=0, skipped_total=0, last_skip_count=0, idle_swept_until=0.0
        )
        conn.execute(stmt.on_conflict_do_nothing(index_elements=[task_cursor.c.task]))

    def reset_schedule(self, task: str, course_id: str, schedule_key: str | None, next_fire_at: datetime | None) -> None:
        with self._writing() as conn:
            self._ensure_cursor(conn, task, course_id)
            conn.execute(
                update(task_cursor)
                .where(task_cursor.c.task == task)
                .values(schedule=schedule_key, next_fire_at=None if next_fire_at is None else to_epoch(next_fire_at))
            )

    def advance_schedule(
        self,
        task: str,
        course_id: str,
        expected_next: datetime,
        next_fire_at: datetime,
        fire_at: datetime | None,
        skipped: int,
        now: datetime,
        allowed_users: set[str] | None,
    ) -> bool:
        expected = to_epoch(expected_next)
        values: dict[str, Any] = {"next_fire_at": to_epoch(next_fire_at)}
        if fire_at is not None:
            values.update(last_fire_at=to_epoch(fire_at), fires=task_cursor.c.fires + 1)
        if skipped:
            values.update(
                skipped_total=task_cursor.c.skipped_total + skipped, last_skip_at=to_epoch(now), last_skip_count=skipped
            )
        with self._writing() as conn:
            won = conn.execute(
                update(task_cursor)
                # Within a millisecond, not ==: the value went through a datetime on its way here.
                .where(task_cursor.c.task == task, task_cursor.c.next_fire_at.between(expected - 0.001, expected + 0.001))
                .values(**values)
            ).rowcount == 1
            if won and fire_at is not None:
                users = conn.execute(select(activity.c.user_id).where(activity.c.course_id == course_id)).scalars()
                rows = [
                    {"task": task, "user_id": u, "course_id": course_id, "next_due_at": to_epoch(fire_at),
                     "due_kind": "schedule", "messages_at_last_run": 0, "runs": 0, "failures": 0, "attempts": 0}
                    for u in users
                    if allowed_users is None or u in allowed_users
                ]
                if rows:
                    conn.execute(self._offer_stmt(), rows)
            return won

    def set_idle_swept(self, task: str, course_id: str, until: float) -> None:
        with self._writing() as conn:
            self._ensure_cursor(conn, task, course_id)
            conn.execute(
                update(task_cursor)
                .where(task_cursor.c.task == task, task_cursor.c.idle_swept_until < until)
                .values(idle_swept_until=until)
            )
