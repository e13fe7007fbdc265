"""Running a task by hand (an admin through the agent model, `youlab run`): the scheduler claims and settles, the
runner runs, and the caller gets one report of every student asked for, in the order asked."""

from __future__ import annotations

import time

from .runner import Progress, Runner, TaskRunReport
from .scheduler import Scheduler


async def manual_run(scheduler: Scheduler, runner: Runner, task_name: str, user_ids: list[str], *,
                      progress: Progress | None = None) -> TaskRunReport:
    """Raises ManualRunRefused (`manual = false`) or NotFound (no such task). A student whose run of the task is
    already under way is reported as skipped."""
    started = time.perf_counter()
    course, task = scheduler.registry.find_task(task_name)
    manual = await scheduler.run_manual(task.name, user_ids, lambda work: runner.run_work(work, progress=progress))
    return TaskRunReport.combine(task.name, course.id, "manual", manual.outcomes, user_ids, failed=manual.unreported,
                                 duration=time.perf_counter() - started)
