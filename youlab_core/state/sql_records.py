"""Run records, the agent-thread registry and the Honcho outbox on SQLite/PostgreSQL."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, case, delete, func, literal, or_, select, update

from .records import OutboxItem, OutboxStats, RunRecord, ThreadRecord, from_epoch, to_epoch
from .sql_base import SqlBase
from .tables import counters, outbox, runs, threads

log = logging.getLogger(__name__)

OVERFLOW_COUNTER = "outbox_overflowed"
DEFAULT_QUEUE = "honcho"
_QUEUE_NAME = re.compile(r"[a-z0-9_-]{1,32}")


def _run(r: Any) -> RunRecord:
    return RunRecord(
        id=r.id, task=r.task, course_id=r.course_id, user_id=r.user_id, trigger=r.trigger, due_at=from_epoch(r.due_at),
        chat_id=r.chat_id, claimed_at=from_epoch(r.claimed_at), started_at=from_epoch(r.started_at),  # type: ignore[arg-type]
        finished_at=from_epoch(r.finished_at), status=r.status, attempts=r.attempts, error=r.error, owner=r.owner,
        thread_chat_id=r.thread_chat_id, diffs_proposed=r.diffs_proposed,
        token_usage=json.loads(r.token_usage) if r.token_usage else {},
    )


def _thread(r: Any) -> ThreadRecord:
    try:
        narrative = json.loads(r.narrative) if r.narrative else None
    except ValueError:
        log.warning("thread %s: its stored narrative is not JSON; the report shows its changes only", r.chat_id)
        narrative = None
    return ThreadRecord(r.chat_id, r.user_id, r.task, r.course_id, r.run_id, from_epoch(r.created_at),  # type: ignore[arg-type]
                        narrative if isinstance(narrative, dict) else None, from_epoch(r.closed_at))


class RecordStoreMixin(SqlBase):
    outbox_max_items: int = 10_000
    outbox_max_attempts: int = 8

    # --- run records ---
    def create_runs(self, rows: Sequence[dict[str, Any]]) -> None:
        if rows:
            # executemany takes its columns from the first row: give every row the same keys.
            keys = {k for row in rows for k in row}
            full = [{k: row.get(k) for k in keys} for row in rows]
            with self._writing() as conn:
                conn.execute(runs.insert(), full)

    def set_run_status(
        self, run_ids: Sequence[str], status: str, *, error: str | None = None, now: datetime | None = None, attempts: int | None = None,
        owner: str | None = None,
    ) -> None:
        if not run_ids:
            return
        values: dict[str, Any] = {"status": status}
        at = to_epoch(now) if now is not None else self._now()
        if status == "running":
            values["started_at"] = at
            values["error"] = None
        if status in ("succeeded", "failed"):
            values["finished_at"] = at
        if status in ("claimed",):
            values["claimed_at"] = at
        if error is not None:
            values["error"] = error[:4000]
        if attempts is not None:
            values["attempts"] = attempts
        if owner is not None:
            values["owner"] = owner
        with self._writing() as conn:
            conn.execute(update(runs).where(runs.c.id.in_(list(run_ids))).values(**values))

    def update_run(
        self,
        run_id: str,
        *,
        thread_chat_id: str | None = None,
        diffs_proposed: int | None = None,
        token_usage: dict[str, Any] | None = None,
        started_at: datetime | None = None,
    ) -> None:
        values: dict[str, Any] = {}
        if thread_chat_id is not None:
            values["thread_chat_id"] = thread_chat_id
        if diffs_proposed is not None:
            values["diffs_proposed"] = diffs_proposed
        if token_usage is not None:
            values["token_usage"] = json.dumps(token_usage, sort_keys=True)
        if started_at is not None:
            values["started_at"] = to_epoch(started_at)
        if values:
            with self._writing() as conn:
                conn.execute(update(runs).where(runs.c.id == run_id).values(**values))

    def get_run(self, run_id: str) -> RunRecord | None:
        with self.engines.read.connect() as conn:
            row = conn.execute(select(runs).where(runs.c.id == run_id)).first()
        return _run(row) if row else None

    def list_runs(self, status: str | None = None, task: str | None = None, user_id: str | None = None, limit: int = 50) -> list[RunRecord]:
        query = select(runs)
        if status:
            query = query.where(runs.c.status == status)
        if task:
            query = query.where(runs.c.task == task)
        if user_id:
            query = query.where(runs.c.user_id == user_id)
        query = query.order_by(runs.c.claimed_at.desc(), runs.c.id).limit(limit)
        with self.engines.read.connect() as conn:
            return [_run(r) for r in conn.execute(query)]

    def run_counts(self, course_id: str) -> dict[str, tuple[int, int]]:
        failed = func.sum(case((runs.c.status == "failed", 1), else_=0))
        query = select(runs.c.user_id, func.count(), failed).where(runs.c.course_id == course_id).group_by(runs.c.user_id)
        with self.engines.read.connect() as conn:
            return {r[0]: (int(r[1]), int(r[2] or 0)) for r in conn.execute(query)}

    # --- thread registry ---
    def register_thread(
        self, chat_id: str, user_id: str, task: str, course_id: str, run_id: str | None, created_at: datetime | None = None,
        narrative: dict[str, Any] | None = None,
    ) -> None:
        at = to_epoch(created_at) if created_at is not None else self._now()
        told = json.dumps(narrative, sort_keys=True) if narrative is not None else None
        stmt = self._insert(threads).values(chat_id=chat_id, user_id=user_id, task=task, course_id=course_id, run_id=run_id,
                                            created_at=at, narrative=told)
        stmt = stmt.on_conflict_do_update(
            index_elements=[threads.c.chat_id],
            set_={"user_id": user_id, "task": task, "course_id": course_id, "run_id": run_id, "narrative": told},
        )
        with self._writing() as conn:
            conn.execute(stmt)

    def thread(self, chat_id: str) -> ThreadRecord | None:
        with self.engines.read.connect() as conn:
            row = conn.execute(select(threads).where(threads.c.chat_id == chat_id)).first()
        return _thread(row) if row else None

    def threads_for(
        self, user_id: str, task: str | None = None, course_id: str | None = None, *, open_only: bool = False,
    ) -> list[ThreadRecord]:
        query = select(threads).where(threads.c.user_id == user_id)
        if task:
            query = query.where(threads.c.task == task)
        if course_id:
            query = query.where(threads.c.course_id == course_id)
        if open_only:
            query = query.where(threads.c.closed_at.is_(None))
        with self.engines.read.connect() as conn:
            return [_thread(r) for r in conn.execute(query.order_by(threads.c.created_at.desc()))]

    def close_threads(self, chat_ids: Sequence[str], at: datetime | None = None) -> None:
        if not chat_ids:
            return
        when = to_epoch(at) if at is not None else self._now()
        with self._writing() as conn:
            conn.execute(update(threads).where(threads.c.chat_id.in_(list(chat_ids))).values(closed_at=when))

    # --- outbox (named queues: "honcho" for the mirror, "letta" for Letta block writes) ---
    def outbox_enqueue(self, payload: dict[str, Any], *, queue: str = DEFAULT_QUEUE) -> int | None:
        _check_queue(queue)
        at = self._now()
        text = json.dumps(payload, sort_keys=True)
        queued = (
            select(func.count()).select_from(outbox).where(outbox.c.queue == queue, outbox.c.status == "queued").scalar_subquery()
        )
        # One statement: insert only while the queue is below its bound (approximate under concurrent writers
        # on PostgreSQL by at most the number of writers). Each queue has its own bound.
        source = select(
            literal(queue).label("queue"), literal(text).label("payload"), literal(at).label("enqueued_at"),
            literal(at).label("available_at"), literal("queued").label("status"), literal(0).label("attempts"),
        ).where(queued < self.outbox_max_items)
        columns = ["queue", "payload", "enqueued_at", "available_at", "status", "attempts"]
        stmt = outbox.insert().from_select(columns, source).returning(outbox.c.id)
        with self._writing() as conn:
            row = conn.execute(stmt).first()
            if row is not None:
                return int(row.id)
            bump = self._insert(counters).values(name=overflow_counter(queue), value=1)
            conn.execute(bump.on_conflict_do_update(index_elements=[counters.c.name], set_={"value": counters.c.value + 1}))
        log.warning("outbox queue %r is full (%d queued items): item dropped and counted", queue, self.outbox_max_items)
        return None

    def outbox_claim(
        self, owner: str, limit: int, lease_seconds: float, *, queue: str = DEFAULT_QUEUE, include_waiting: bool = False
    ) -> list[OutboxItem]:
        _check_queue(queue)
        at = self._now()
        conditions = [outbox.c.queue == queue, outbox.c.status == "queued",
                      or_(outbox.c.owner.is_(None), outbox.c.lease_expires_at < at)]
        if not include_waiting:
            conditions.append(outbox.c.available_at <= at)
        ready = and_(*conditions)
        pick = select(outbox.c.id).where(ready).order_by(outbox.c.id).limit(limit).with_for_update(skip_locked=True)
        stmt = (
            update(outbox)
            .where(ready, self._pick(outbox, outbox.c.id, pick))
            .values(owner=owner, lease_expires_at=at + lease_seconds)
            .returning(outbox.c.id, outbox.c.payload, outbox.c.attempts, outbox.c.enqueued_at)
        )
        with self._writing() as conn:
            rows = conn.execute(stmt).all()
        items = [OutboxItem(int(r.id), json.loads(r.payload), r.attempts, from_epoch(r.enqueued_at)) for r in rows]  # type: ignore[arg-type]
        return sorted(items, key=lambda i: i.id)

    def outbox_ack(self, ids: Sequence[int]) -> None:
        if ids:
            with self._writing() as conn:
                conn.execute(delete(outbox).where(outbox.c.id.in_(list(ids))))

    def outbox_retry(self, ids: Sequence[int], error: str, backoff_seconds: float, *, count_attempt: bool = True) -> None:
        if not ids:
            return
        at = self._now()
        values: dict[str, Any] = {
            "owner": None, "lease_expires_at": None, "available_at": at + backoff_seconds, "last_error": error[:2000],
        }
        if count_attempt:
            values["attempts"] = outbox.c.attempts + 1
            values["status"] = case((outbox.c.attempts + 1 >= self.outbox_max_attempts, "dead"), else_="queued")
        with self._writing() as conn:
            conn.execute(update(outbox).where(outbox.c.id.in_(list(ids))).values(**values))

    def outbox_stats(self, *, queue: str = DEFAULT_QUEUE) -> OutboxStats:
        _check_queue(queue)
        with self.engines.read.connect() as conn:
            counts = dict(conn.execute(
                select(outbox.c.status, func.count()).where(outbox.c.queue == queue).group_by(outbox.c.status)
            ).tuples().all())
            overflowed = conn.execute(select(counters.c.value).where(counters.c.name == overflow_counter(queue))).scalar()
        return OutboxStats(int(counts.get("queued", 0)), int(counts.get("dead", 0)), int(overflowed or 0))


def overflow_counter(queue: str) -> str:
    # The Honcho queue keeps the counter name it had before queues existed, so its count survives the upgrade.
    return OVERFLOW_COUNTER if queue == DEFAULT_QUEUE else f"{OVERFLOW_COUNTER}:{queue}"


def _check_queue(queue: str) -> None:
    if not _QUEUE_NAME.fullmatch(queue or ""):
        raise ValueError(f"outbox queue name {queue!r}: use 1-32 characters a-z, 0-9, _ or -")
