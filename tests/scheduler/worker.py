"""A scheduler process for the concurrency tests: `python -m tests.scheduler.worker --url ... --config ... --out ...`.

It waits for the `--go` file (so several workers start racing at the same moment), then ticks until it has seen
no work for `--idle-exit` seconds. Each batch is appended to `--out` with one write (O_APPEND), one line a student:
`ran <task> <user> <due epoch> <owner> <time>` or, in `--hang` mode, `claimed ...` before hanging forever.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time
from pathlib import Path

from sqlalchemy import func, select

from youlab_core.config import CourseRegistry
from youlab_core.scheduler import DueWork, Scheduler
from youlab_core.settings import Settings
from youlab_core.state import SqlStateStore, open_store
from youlab_core.state.tables import trigger_state


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--config", required=True)
    parser.add_argument("--owner", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--go", required=True)
    parser.add_argument("--lease", type=float, default=30.0)
    parser.add_argument("--work-seconds", type=float, default=0.0)
    parser.add_argument("--idle-exit", type=float, default=1.0)
    parser.add_argument("--max-seconds", type=float, default=60.0)
    parser.add_argument("--hang", action="store_true")
    parser.add_argument("--until-done", action="store_true", help="exit as soon as no work is pending in the database")
    args = parser.parse_args()
    asyncio.run(run(args))


async def run(args: argparse.Namespace) -> None:
    settings = Settings(poll_interval_seconds=0.02, poll_jitter_seconds=0.02, claim_lease_seconds=max(1, round(args.lease)),
                        scheduler_max_batches=4, run_max_attempts=3)
    store = open_store(settings, url=args.url)
    registry = CourseRegistry(args.config)
    registry.reload()
    fd = os.open(args.out, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)

    async def handler(work: DueWork) -> None:
        word = "claimed" if args.hang else "ran"
        lines = "".join(f"{word} {work.task} {c.user_id} {c.due_at.timestamp()} {args.owner} {time.time()}\n" for c in work.claims)
        if args.hang:
            os.write(fd, lines.encode())
            await asyncio.Event().wait()
        await asyncio.sleep(args.work_seconds)
        os.write(fd, lines.encode())

    scheduler = Scheduler(store, registry, handler, settings, owner=args.owner)
    while not Path(args.go).exists():
        await asyncio.sleep(0.01)
    start = last_work = time.monotonic()
    while time.monotonic() - start < args.max_seconds:
        works = await scheduler.tick()
        await scheduler.renew_leases()  # a live worker keeps its claims
        now = time.monotonic()
        if works or scheduler.inflight:
            last_work = now
        elif now - last_work > args.idle_exit or (args.until_done and not pending(store)):
            break
        await asyncio.sleep(settings.poll_interval_seconds)
    await scheduler.drain()
    await scheduler.stop(grace_seconds=5)
    store.close()


def pending(store: SqlStateStore) -> int:
    with store.engines.read.connect() as conn:
        return int(conn.execute(select(func.count()).where(trigger_state.c.next_due_at.is_not(None))).scalar_one())


if __name__ == "__main__":
    main()
