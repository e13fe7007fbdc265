"""Manual runs: an admin (the agent model in Open WebUI, or `youlab run`) runs a task by hand for chosen students.

The scheduler owns claim -> run -> settle here as for every other trigger: each student is claimed (a student whose
run of the task is already under way is left out and reported), batches start as soon as they are claimed so the
first students run while the rest are claimed, leases are renewed while the run lasts, every claim is settled (and
given back if the run is cancelled), and the caller gets each batch's outcome.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ..triggers import check_manual
from .work import BatchOutcome, Executed, Handler

if TYPE_CHECKING:
    from .loop import Scheduler

log = logging.getLogger(__name__)


@dataclass
class ManualRun:
    """What a manual run did: every batch it ran, and the students it did not run."""

    task: str
    course_id: str
    executed: list[Executed] = field(default_factory=list)
    already_running: list[str] = field(default_factory=list)  # a run of the task for them was under way

    @property
    def outcomes(self) -> list[BatchOutcome]:
        """The handler's outcome of each batch that reported one."""
        return [e.outcome for e in self.executed if e.outcome is not None]

    @property
    def unreported(self) -> dict[str, str]:
        """Students whose batch failed before the handler reported on them, with the recorded reason."""
        return {u: e.failures.get(u, "failed") for e in self.executed if e.crashed for u in e.work.user_ids}


async def run_manual(scheduler: Scheduler, task_name: str, user_ids: list[str],
                     handler: Handler | None = None) -> ManualRun:
    """Run `task_name` by hand for `user_ids`. Raises ManualRunRefused (`manual = false`) or NotFound (no such task).
    A cancelled manual run stops the batches it started; they give their claims back."""
    course, task = scheduler.registry.find_task(task_name)
    check_manual(task)
    result = ManualRun(task.name, course.id)
    unique = list(dict.fromkeys(user_ids))
    claimed: set[str] = set()
    started: list[asyncio.Task[Executed]] = []
    renewing = asyncio.create_task(_renew_leases(scheduler))
    try:
        for first in range(0, len(unique), task.batch_size):
            chunk = unique[first:first + task.batch_size]
            works = await asyncio.to_thread(scheduler.claim_manual, task.name, chunk)
            claimed.update(u for w in works for u in w.user_ids)
            started.extend(scheduler.start(w, handler) for w in works)
        result.executed = list(await asyncio.gather(*started))
    except BaseException:
        for running in started:
            running.cancel()
        await asyncio.gather(*started, return_exceptions=True)
        raise
    finally:
        renewing.cancel()
    result.already_running = [u for u in unique if u not in claimed]
    return result


async def _renew_leases(scheduler: Scheduler) -> None:
    # Outside a running loop (`youlab run`) nobody else renews: a long manual run must keep its claims.
    while True:
        await asyncio.sleep(max(1.0, scheduler.settings.claim_lease_seconds / 3))
        try:
            await scheduler.renew_leases()
        except Exception:
            log.exception("claim leases could not be renewed; the run goes on")
