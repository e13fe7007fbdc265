"""Claims on SQLite/PostgreSQL. The claim lives on the trigger-state row that holds the due time, so winning it
is one conditional UPDATE (or upsert) that re-checks the due time and the lease on that very row."""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Float,
    Integer,
    String,
    and_,
    bindparam,
    case,
    cast,
    column,
    func,
    literal,
    null,
    or_,
    select,
    tuple_,
    update,
    values,
)
from sqlalchemy.exc import OperationalError

from .records import ClaimedRow, Retry, Settlement, from_epoch, to_epoch
from .sql_base import SqlBase, least
from .tables import activity, trigger_state

ts = trigger_state
log = logging.getLogger(__name__)
SETTLE_ATTEMPTS = 4


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



class ClaimStoreMixin(SqlBase):
    # --- claims ---
    def _messages_now(self) -> Any:
        return func.coalesce(
            select(activity.c.message_count)
            .where(activity.c.user_id == ts.c.user_id, activity.c.course_id == ts.c.course_id)
            .scalar_subquery(),
            0,
        )

    def has_due(self, task: str, now: datetime) -> bool:
        """Whether claim_due would find anything: a read, so idle ticks take no write lock."""
        at = to_epoch(now)
        query = (
            select(ts.c.user_id)
            .where(ts.c.task == task, ts.c.next_due_at <= at, or_(ts.c.claim_token.is_(None), ts.c.claim_expires_at < at))
            .limit(1)
        )
        with self.engines.read.connect() as conn:
            return conn.execute(query).first() is not None

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
            .where(claimable, self._pick(ts, ts.c.user_id, pick))
            .values(
                claim_token=token, claim_owner=owner, claim_expires_at=at + lease_seconds, claimed_at=at,
                claim_messages=self._messages_now(), attempts=ts.c.attempts + 1,
            )
            .returning(*_RETURNED)
        )
        with self._writing() as conn:
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
        free = ts.c.claim_token.is_(None)
        # Free, or held by a lease that expired; and not a failed run waiting for its retry time (the backoff
        # holds for messages and manual requests too).
        condition = and_(
            or_(free, ts.c.claim_expires_at < at),
            or_(~free, ts.c.attempts == 0, ts.c.next_due_at.is_(None), ts.c.next_due_at <= at),
        )
        if min_new_messages is not None:
            condition = and_(condition, messages - ts.c.messages_at_last_run >= min_new_messages)
        stmt = stmt.on_conflict_do_update(
            index_elements=[ts.c.task, ts.c.user_id],
            set_={**claim, "attempts": ts.c.attempts + 1},
            where=condition,
        ).returning(*_RETURNED)
        with self._writing() as conn:
            row = conn.execute(stmt).first()
        return _claimed(task, token, at, row) if row else None

    def renew_claims(self, owner: str, tokens: Sequence[str], expires_at: datetime) -> int:
        if not tokens:
            return 0
        mine = and_(ts.c.claim_owner == owner, ts.c.claim_token.in_(list(tokens)))
        where: Any = mine
        if self.dialect == "postgresql":
            # Lock in (task, user) order, the order settle_claims uses, so the two never deadlock.
            locked = select(ts.c.task, ts.c.user_id).where(mine).order_by(ts.c.task, ts.c.user_id).with_for_update()
            picked = locked.cte("locked").prefix_with("MATERIALIZED")
            where = and_(mine, tuple_(ts.c.task, ts.c.user_id).in_(select(picked.c.task, picked.c.user_id)))
        with self._writing() as conn:
            return conn.execute(update(ts).where(where).values(claim_expires_at=to_epoch(expires_at))).rowcount

    @staticmethod
    def _settle_stmts() -> tuple[Any, Any]:
        """The completion and retry UPDATEs, built once with bound parameters (building a statement per row costs
        far more than running it)."""
        rerun = ts.c.rerun_due_at
        pending = cast(bindparam("p_next"), Float)
        kind = case(
            (pending.is_(None), case((rerun.is_(None), null()), else_=literal("schedule"))),
            (or_(rerun.is_(None), pending <= rerun), cast(bindparam("p_kind"), String)),
            else_=literal("schedule"),
        )
        mine = and_(ts.c.task == bindparam("p_task"), ts.c.user_id == bindparam("p_user"), ts.c.claim_token == bindparam("p_token"))
        complete = update(ts).where(mine).values(
            **_CLEAR_CLAIM, claimed_at=None, claim_messages=None, last_run_at=bindparam("p_started"),
            last_fire_at=bindparam("p_fire"), messages_at_last_run=bindparam("p_messages"), attempts=0, run_id=None,
            chat_id=None, next_due_at=least(rerun, pending), due_kind=kind, rerun_due_at=None,
            runs=ts.c.runs + bindparam("p_ok"), failures=ts.c.failures + bindparam("p_failed"),
        )
        retry = update(ts).where(mine).values(**_CLEAR_CLAIM, next_due_at=bindparam("p_retry"))
        return complete, retry

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
        done = Settlement(user_id, token, started_at, fire_at, messages, failed, next_due_at, next_kind)
        return bool(self.settle_claims(task, [done], []))

    def settle_claims(self, task: str, completions: Sequence[Settlement], retries: Sequence[Retry]) -> set[str]:
        """Finish and reschedule many claims in one transaction; returns the users whose claim was still ours.

        Rows are updated in user order (see renew_claims). A transient database error (deadlock, busy) is retried
        a few times: a run that finished but could not be recorded would otherwise run again after its lease.
        """
        complete, retry = self._settle_stmts()
        steps: list[tuple[str, Any, dict[str, Any]]] = [
            (c.user_id, complete, {
                "p_task": task, "p_user": c.user_id, "p_token": c.token, "p_started": to_epoch(c.started_at),
                "p_fire": to_epoch(c.fire_at), "p_messages": c.messages, "p_ok": 0 if c.failed else 1,
                "p_failed": 1 if c.failed else 0, "p_kind": c.next_kind,
                "p_next": None if c.next_due_at is None else to_epoch(c.next_due_at),
            })
            for c in completions
        ]
        steps += [(r.user_id, retry, {"p_task": task, "p_user": r.user_id, "p_token": r.token, "p_retry": to_epoch(r.retry_at)})
                  for r in retries]
        steps.sort(key=lambda step: step[0])
        for attempt in range(1, SETTLE_ATTEMPTS + 1):
            try:
                settled: set[str] = set()
                with self._writing() as conn:
                    if self.dialect == "postgresql":
                        # One round trip per chunk instead of one per student.
                        for start in range(0, len(completions), 2000):
                            settled |= self._complete_many_pg(conn, task, completions[start : start + 2000])
                        steps = [step for step in steps if step[1] is retry]
                    for user_id, stmt, params in steps:
                        if conn.execute(stmt, params).rowcount == 1:
                            settled.add(user_id)
                return settled
            except OperationalError:
                if attempt == SETTLE_ATTEMPTS:
                    raise
                log.warning("settling %d claim(s) of task %r failed (attempt %d); retrying", len(steps), task, attempt)
                time.sleep(0.05 * attempt)
        raise AssertionError("unreachable")  # pragma: no cover

    @staticmethod
    def _complete_many_pg(conn: Any, task: str, completions: Sequence[Settlement]) -> set[str]:
        """UPDATE ... FROM (VALUES ...) for a chunk of completions (PostgreSQL)."""
        if not completions:
            return set()
        v = values(
            column("u", String), column("tok", String), column("started", Float), column("fire", Float),
            column("msgs", BigInteger), column("ok", Integer), column("bad", Integer), column("kind", String),
            column("nxt", Float), name="v",
        ).data([
            (c.user_id, c.token, to_epoch(c.started_at), to_epoch(c.fire_at), c.messages, 0 if c.failed else 1,
             1 if c.failed else 0, c.next_kind, None if c.next_due_at is None else to_epoch(c.next_due_at))
            for c in completions
        ])
        rerun = ts.c.rerun_due_at
        pending = cast(v.c.nxt, Float)  # a column of NULLs only would otherwise be text
        kind = case(
            (pending.is_(None), case((rerun.is_(None), null()), else_=literal("schedule"))),
            (or_(rerun.is_(None), pending <= rerun), cast(v.c.kind, String)),
            else_=literal("schedule"),
        )
        stmt = (
            update(ts)
            .where(ts.c.task == task, ts.c.user_id == v.c.u, ts.c.claim_token == v.c.tok)
            .values(
                **_CLEAR_CLAIM, claimed_at=None, claim_messages=None, last_run_at=cast(v.c.started, Float),
                last_fire_at=cast(v.c.fire, Float), messages_at_last_run=cast(v.c.msgs, BigInteger), attempts=0,
                run_id=None, chat_id=None, next_due_at=least(rerun, pending), due_kind=kind, rerun_due_at=None,
                runs=ts.c.runs + cast(v.c.ok, Integer), failures=ts.c.failures + cast(v.c.bad, Integer),
            )
            .returning(ts.c.user_id)
        )
        return set(conn.execute(stmt).scalars())

    def retry_claim(self, task: str, user_id: str, token: str, retry_at: datetime) -> bool:
        return bool(self.settle_claims(task, [], [Retry(user_id, token, retry_at)]))

    def release_claim(self, task: str, user_id: str, token: str) -> bool:
        with self._writing() as conn:
            return conn.execute(
                update(ts)
                .where(ts.c.task == task, ts.c.user_id == user_id, ts.c.claim_token == token)
                .values(**_CLEAR_CLAIM, attempts=ts.c.attempts - 1)
            ).rowcount == 1

    def release_owner(self, owner: str) -> list[str]:
        with self._writing() as conn:
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
        with self._writing() as conn:
            if self.dialect == "postgresql":
                # One statement per chunk: an executemany would be one round trip per row.
                for start in range(0, len(pairs), 5000):
                    v = values(column("u", String), column("r", String), name="v").data(list(pairs[start : start + 5000]))
                    conn.execute(update(ts).where(ts.c.task == task, ts.c.user_id == v.c.u).values(run_id=v.c.r))
                return
            stmt = update(ts).where(ts.c.task == task, ts.c.user_id == bindparam("uid")).values(run_id=bindparam("rid"))
            conn.execute(stmt, [{"uid": u, "rid": r} for u, r in pairs])


