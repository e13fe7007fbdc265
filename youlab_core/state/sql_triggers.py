"""Activity, trigger state, task cursors and claims on SQLite/PostgreSQL."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Float, and_, bindparam, case, func, literal, null, or_, select, update

from .records import Activity, ClaimedRow, TaskCursor, TriggerState, from_epoch, to_epoch
from .sql_base import SqlBase, least
from .tables import activity, task_cursor, trigger_state

ts = trigger_state


def _activity(row: Any) -> Activity:
    return Activity(row.user_id, row.course_id, from_epoch(row.first_message_at), from_epoch(row.last_message_at), row.message_count)  # type: ignore[arg-type]


def _claimed(task: str, token: str, now: float, row: Any) -> ClaimedRow:
    return ClaimedRow(
        task=task,
        course_id=row.course_id,
        user_id=row.user_id,
        token=token,
        due_at=from_epoch(row.next_due_at),  # type: ignore[arg-type]
        kind=row.due_kind,
        attempt=row.attempts,
        run_id=row.run_id,
        chat_id=row.chat_id,
        claimed_at=from_epoch(now),  # type: ignore[arg-type]
        messages=int(row.claim_messages or 0),
    )


_RETURNED = (ts.c.user_id, ts.c.course_id, ts.c.next_due_at, ts.c.due_kind, ts.c.attempts, ts.c.run_id, ts.c.chat_id, ts.c.claim_messages)
_CLEAR_CLAIM = {"claim_token": None, "claim_owner": None, "claim_expires_at": None}


class TriggerStoreMixin(SqlBase):
    # --- activity ---
    def record_message(self, user_id: str, course_id: str, at: datetime) -> None:
        when = to_epoch(at)
        stmt = self._insert(activity).values(
            user_id=user_id, course_id=course_id, first_message_at=when, last_message_at=when, message_count=1
        )
        stmt = stmt.on_conflict_do_update(
            index_elements=[activity.c.user_id, activity.c.course_id],
            set_={
                # max(), so a message recorded late never moves the time backwards
                "last_message_at": case(
                    (stmt.excluded.last_message_at > activity.c.last_message_at, stmt.excluded.last_message_at),
                    else_=activity.c.last_message_at,
                ),
                "message_count": activity.c.message_count + 1,
            },
        )
        with self.engines.write.begin() as conn:
            conn.execute(stmt)

    def activity(self, user_id: str, course_id: str) -> Activity | None:
        with self.engines.read.connect() as conn:
            row = conn.execute(select(activity).where(activity.c.user_id == user_id, activity.c.course_id == course_id)).first()
        return _activity(row) if row else None

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
        return stmt.on_conflict_do_update(
            index_elements=[ts.c.task, ts.c.user_id],
            set_={
                "next_due_at": case((and_(unclaimed, earlier), new.next_due_at), else_=ts.c.next_due_at),
                "due_kind": case((and_(unclaimed, earlier), new.due_kind), else_=ts.c.due_kind),
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
        with self.engines.write.begin() as conn:
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

    def _ensure_cursor(self, conn: Any, task: str, course_id: str) -> None:
        stmt = self._insert(task_cursor).values(
            task=task, course_id=course_id, fires=0, skipped_total=0, last_skip_count=0, idle_swept_until=0.0
        )
        conn.execute(stmt.on_conflict_do_nothing(index_elements=[task_cursor.c.task]))

    def reset_schedule(self, task: str, course_id: str, schedule_key: str | None, next_fire_at: datetime | None) -> None:
        with self.engines.write.begin() as conn:
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
        values: dict[str, Any] = {"next_fire_at": to_epoch(next_fire_at)}
        if fire_at is not None:
            values.update(last_fire_at=to_epoch(fire_at), fires=task_cursor.c.fires + 1)
        if skipped:
            values.update(
                skipped_total=task_cursor.c.skipped_total + skipped, last_skip_at=to_epoch(now), last_skip_count=skipped
            )
        with self.engines.write.begin() as conn:
            won = conn.execute(
                update(task_cursor)
                .where(task_cursor.c.task == task, task_cursor.c.next_fire_at == to_epoch(expected_next))
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
        with self.engines.write.begin() as conn:
            self._ensure_cursor(conn, task, course_id)
            conn.execute(
                update(task_cursor)
                .where(task_cursor.c.task == task, task_cursor.c.idle_swept_until < until)
                .values(idle_swept_until=until)
            )

    # --- claims ---
    def _messages_now(self) -> Any:
        return func.coalesce(
            select(activity.c.message_count)
            .where(activity.c.user_id == ts.c.user_id, activity.c.course_id == ts.c.course_id)
            .scalar_subquery(),
            0,
        )

    def claim_due(self, task: str, owner: str, now: datetime, lease_seconds: float, limit: int) -> list[ClaimedRow]:
        at = to_epoch(now)
        token = str(uuid.uuid4())
        claimable = and_(
            ts.c.task == task,
            ts.c.next_due_at <= at,
            or_(ts.c.claim_token.is_(None), ts.c.claim_expires_at < at),
        )
        pick = (
            select(ts.c.user_id)
            .where(claimable)
            .order_by(ts.c.next_due_at)
            .limit(limit)
            .with_for_update(skip_locked=True)  # PostgreSQL: concurrent claimers take different rows
        )
        # The conditions are repeated on the row being updated: PostgreSQL re-checks them there after waiting
        # for a concurrent writer, so a row another claimer just won is never won twice.
        stmt = (
            update(ts)
            .where(claimable, self._pick(ts.c.user_id, pick))
            .values(
                claim_token=token, claim_owner=owner, claim_expires_at=at + lease_seconds, claimed_at=at,
                claim_messages=self._messages_now(), attempts=ts.c.attempts + 1,
            )
            .returning(*_RETURNED)
        )
        with self.engines.write.begin() as conn:
            rows = conn.execute(stmt).all()
        return sorted((_claimed(task, token, at, r) for r in rows), key=lambda c: (c.due_at, c.user_id))

    def claim_user(
        self,
        task: str,
        course_id: str,
        user_id: str,
        kind: str,
        owner: str,
        now: datetime,
        lease_seconds: float,
        messages: int,
        chat_id: str | None = None,
        min_new_messages: int | None = None,
    ) -> ClaimedRow | None:
        at = to_epoch(now)
        token = str(uuid.uuid4())
        claim = {
            "claim_token": token, "claim_owner": owner, "claim_expires_at": at + lease_seconds, "claimed_at": at,
            "claim_messages": messages, "next_due_at": at, "due_kind": kind, "chat_id": chat_id,
        }
        stmt = self._insert(ts).values(
            task=task, user_id=user_id, course_id=course_id, messages_at_last_run=0, runs=0, failures=0, attempts=1, **claim
        )
        condition = or_(ts.c.claim_token.is_(None), ts.c.claim_expires_at < at)
        if min_new_messages is not None:
            condition = and_(condition, messages - ts.c.messages_at_last_run >= min_new_messages)
        stmt = stmt.on_conflict_do_update(
            index_elements=[ts.c.task, ts.c.user_id],
            set_={**claim, "attempts": ts.c.attempts + 1},
            where=condition,
        ).returning(*_RETURNED)
        with self.engines.write.begin() as conn:
            row = conn.execute(stmt).first()
        return _claimed(task, token, at, row) if row else None

    def renew_claims(self, owner: str, tokens: Sequence[str], expires_at: datetime) -> int:
        if not tokens:
            return 0
        with self.engines.write.begin() as conn:
            return conn.execute(
                update(ts)
                .where(ts.c.claim_owner == owner, ts.c.claim_token.in_(list(tokens)))
                .values(claim_expires_at=to_epoch(expires_at))
            ).rowcount

    def complete_claim(
        self,
        task: str,
        user_id: str,
        token: str,
        *,
        started_at: datetime,
        fire_at: datetime,
        messages: int,
        failed: bool,
        next_due_at: datetime | None,
        next_kind: str | None,
    ) -> bool:
        rerun = ts.c.rerun_due_at
        if next_due_at is None:
            chosen: Any = rerun
            kind: Any = case((rerun.is_(None), null()), else_=literal("schedule"))
        else:
            pending = literal(to_epoch(next_due_at), Float)
            chosen = least(rerun, pending)
            kind = case((or_(rerun.is_(None), pending <= rerun), literal(next_kind)), else_=literal("schedule"))
        values = {
            **_CLEAR_CLAIM, "claimed_at": None, "claim_messages": None, "last_run_at": to_epoch(started_at),
            "last_fire_at": to_epoch(fire_at), "messages_at_last_run": messages, "attempts": 0, "run_id": None,
            "chat_id": None, "next_due_at": chosen, "due_kind": kind, "rerun_due_at": None,
            "runs": ts.c.runs + (0 if failed else 1), "failures": ts.c.failures + (1 if failed else 0),
        }
        with self.engines.write.begin() as conn:
            return conn.execute(
                update(ts).where(ts.c.task == task, ts.c.user_id == user_id, ts.c.claim_token == token).values(**values)
            ).rowcount == 1

    def retry_claim(self, task: str, user_id: str, token: str, retry_at: datetime) -> bool:
        with self.engines.write.begin() as conn:
            return conn.execute(
                update(ts)
                .where(ts.c.task == task, ts.c.user_id == user_id, ts.c.claim_token == token)
                .values(**_CLEAR_CLAIM, next_due_at=to_epoch(retry_at))
            ).rowcount == 1

    def release_claim(self, task: str, user_id: str, token: str) -> bool:
        with self.engines.write.begin() as conn:
            return conn.execute(
                update(ts)
                .where(ts.c.task == task, ts.c.user_id == user_id, ts.c.claim_token == token)
                .values(**_CLEAR_CLAIM, attempts=ts.c.attempts - 1)
            ).rowcount == 1

    def release_owner(self, owner: str) -> list[str]:
        with self.engines.write.begin() as conn:
            rows = conn.execute(
                update(ts)
                .where(ts.c.claim_owner == owner)
                .values(**_CLEAR_CLAIM, attempts=ts.c.attempts - 1)
                .returning(ts.c.run_id)
            ).all()
        return [r.run_id for r in rows if r.run_id]

    def set_run_ids(self, task: str, pairs: Sequence[tuple[str, str]]) -> None:
        """Remember the run record of each (user, run id) while its work is pending (kept across retries)."""
        if not pairs:
            return
        stmt = update(ts).where(ts.c.task == task, ts.c.user_id == bindparam("uid")).values(run_id=bindparam("rid"))
        with self.engines.write.begin() as conn:
            conn.execute(stmt, [{"uid": u, "rid": r} for u, r in pairs])


