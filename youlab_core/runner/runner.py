"""The runner: turns a claimed batch of students into proposed memory changes and a report per student.

Per student, per query: ask the dialectic, merge the answer into the target field with the query's strategy, and
propose the result as a pending diff. Students run concurrently up to `Settings.runner_concurrency` (one semaphore
per Runner, shared by every batch it runs); the queries of one student run in order. Every external call has a
timeout and transient failures are retried with backoff (`call_retries`, `call_backoff_seconds`). A student's failure
is recorded in their report and run record and never stops the others. Memory writes are whole commits, and a
cancelled run waits for a write already under way, so cancelling never leaves half-written state.

Which students run is decided by claims in the state store (through the scheduler's claim functions), so two
processes never run the same task for the same student at once.
"""

from __future__ import annotations

import asyncio
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any, Protocol

from ..config import Course, CourseRegistry, TaskSpec
from ..dialectic import Dialectic
from ..llm.base import LLM
from .report import RunReport, StudentReport
from .student import StudentRun
from .writes import ProposalWrites

log = logging.getLogger(__name__)

Progress = Callable[[StudentReport], None]


class ThreadWriter(Protocol):
    """Renders a student's report as an Open WebUI thread; returns the new chat's id (None if none was written)."""

    async def write(self, user_id: str, course: Course, task: TaskSpec, report: StudentReport) -> str | None: ...


def _raise_failures(report: RunReport) -> None:
    from ..scheduler import UserRunsFailed

    failures = {s.user_id: "; ".join(s.errors()) or "failed" for s in report.students if s.status == "failed"}
    if failures:
        raise UserRunsFailed(failures)


def now_utc() -> datetime:
    return datetime.now(timezone.utc)


class Runner:
    def __init__(self, settings: Any, registry: CourseRegistry, memory: Any, state: Any, dialectic: Dialectic,
                 llm: LLM | None, thread_writer: ThreadWriter | None = None, *, clock: Any = None):
        self.settings = settings
        self.registry = registry
        self.memory = memory
        self.state = state
        self.dialectic = dialectic
        self.llm = llm
        self.thread_writer = thread_writer
        self.clock = clock
        self._slots = asyncio.Semaphore(settings.runner_concurrency)
        # Memory and state store calls block (git, SQL): they get their own threads, one per student slot, rather
        # than the event loop's small shared default pool (Open WebUI's, when we run inside it).
        self.io = ThreadPoolExecutor(max_workers=settings.runner_concurrency + 2, thread_name_prefix="youlab-runner")
        self.writes = ProposalWrites(memory, settings, self.io)

    # Entry points --------------------------------------------------------------------------------------------

    async def handler(self, work: Any) -> None:
        """The scheduler's handler: run a claimed batch; report failed students with UserRunsFailed."""
        _raise_failures(await self.run_work(work))

    async def run(self, task: str | TaskSpec, students: list[str], trigger: str = "manual", *,
                  course: str | None = None, chat_id: str | None = None,
                  progress: Progress | None = None) -> RunReport:
        """Run a task by hand for these students: claim each (task, student) (students whose run is already under
        way are reported as skipped), run the batches, settle the claims. ManualRunRefused when `manual = false`."""
        from ..scheduler import Scheduler

        task_name = task.name if isinstance(task, TaskSpec) else task
        found_course, spec = self.registry.find_task(task_name)
        if course is not None and course != found_course.id:
            from ..errors import NotFound

            raise NotFound(f"task {task_name!r} belongs to course {found_course.id!r}, not {course!r}")
        if trigger != "manual":
            raise ValueError("Runner.run claims manual runs; other triggers come from the scheduler (run_work)")
        started = time.perf_counter()
        reports: dict[str, StudentReport] = {}

        async def handle(work: Any) -> None:
            report = await self.run_work(work, progress=progress, chat_id=chat_id)
            reports.update({s.user_id: s for s in report.students})
            _raise_failures(report)

        kwargs = {"clock": self.clock} if self.clock is not None else {}
        scheduler = Scheduler(self.state, self.registry, handle, self.settings, **kwargs)
        unique = list(dict.fromkeys(students))
        claimed: set[str] = set()
        started_work: list[asyncio.Task] = []
        # Claimed a batch at a time and started at once, so the first students run while the rest are claimed.
        # Started through the scheduler so its bookkeeping settles every claim (released if we are cancelled), and
        # the leases are renewed while a long run waits for its turn.
        renewing = asyncio.create_task(self._renew_leases(scheduler))
        try:
            for first in range(0, len(unique), spec.batch_size):
                chunk = unique[first:first + spec.batch_size]
                works = await asyncio.to_thread(scheduler.claim_manual, spec.name, chunk)
                claimed.update(u for w in works for u in w.user_ids)
                started_work.extend(scheduler.start(w) for w in works)
            await asyncio.gather(*started_work)
        except BaseException:
            # Cancelled (or failed) part way: stop what was started and let it give its claims back first.
            for started in started_work:
                started.cancel()
            await asyncio.gather(*started_work, return_exceptions=True)
            raise
        finally:
            renewing.cancel()
        result = RunReport(spec.name, found_course.id, trigger)
        for user_id in unique:
            if user_id in reports:
                result.students.append(reports[user_id])
            else:
                if user_id in claimed:  # claimed, but the batch failed before reporting (already logged)
                    skipped = StudentReport(user_id, "", spec.name, found_course.id, trigger, status="failed",
                                            error="the batch failed before this student's run was reported")
                else:
                    skipped = StudentReport(user_id, "", spec.name, found_course.id, trigger, status="skipped",
                                            error="a run of this task for this student is already under way")
                result.students.append(skipped)
                if progress is not None:
                    progress(skipped)
        result.duration = time.perf_counter() - started
        return result

    async def _renew_leases(self, scheduler: Any) -> None:
        while True:
            await asyncio.sleep(max(1.0, self.settings.claim_lease_seconds / 3))
            try:
                await scheduler.renew_leases()
            except Exception:
                log.exception("claim leases could not be renewed; the run goes on")

    async def run_work(self, work: Any, *, progress: Progress | None = None,
                       chat_id: str | None = None) -> RunReport:
        """Run every student of an already claimed batch (`scheduler.DueWork`), concurrently within the limit."""
        course = self.registry.course(work.course_id)
        task = course.task(work.task)
        started = time.perf_counter()
        report = RunReport(work.task, work.course_id, work.trigger)
        if task is None:
            for claim in work.claims:
                report.students.append(StudentReport(claim.user_id, claim.run_id, work.task, work.course_id,
                                                     work.trigger, status="failed",
                                                     error=f"course {course.id!r} has no task {work.task!r} any more"))
            return report

        async def one(claim: Any) -> StudentReport:
            async with self._slots:
                result = await self.run_student(course, task, claim.user_id, claim.run_id, work.trigger,
                                                chat_id=work.chat_id or chat_id)
            if progress is not None:
                progress(result)
            return result

        report.students = list(await asyncio.gather(*(one(c) for c in work.claims)))
        report.duration = time.perf_counter() - started
        return report

    # One student ---------------------------------------------------------------------------------------------

    async def run_student(self, course: Course, task: TaskSpec, user_id: str, run_id: str, trigger: str, *,
                          chat_id: str | None = None) -> StudentReport:
        """One student's run. Never raises (except cancellation): failures are in the report and run record."""
        return await StudentRun(self, course, task, user_id, run_id, trigger, chat_id).execute()

    async def record(self, run_id: str, **fields: Any) -> None:
        """Update the run record; a state store hiccup is logged, never fails the student's run."""
        if self.state is None or not run_id:
            return
        try:
            await self.blocking(lambda: self.state.update_run(run_id, **fields))
        except Exception:
            log.exception("run record %s could not be updated", run_id)

    async def blocking(self, fn: Callable[..., Any], *args: Any) -> Any:
        """Run a blocking memory or state call on the runner's threads."""
        return await asyncio.get_running_loop().run_in_executor(self.io, lambda: fn(*args))

    async def aclose(self) -> None:
        self.io.shutdown(wait=False)
        await asyncio.to_thread(self.writes.shutdown)
        await self.dialectic.aclose()
        close = getattr(self.llm, "aclose", None)
        if close is not None:
            await close()
