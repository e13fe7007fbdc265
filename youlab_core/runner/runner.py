"""The runner: turns a claimed batch of students into proposed memory changes and a report per student.

Per student, per query: ask the dialectic, merge the answer into the target field with the query's strategy, and
propose the result as a pending diff. Students run concurrently up to `Settings.runner_concurrency` (one semaphore
per Runner, shared by every batch it runs); the queries of one student run in order. Every external call has a
timeout and transient failures are retried with backoff (`call_retries`, `call_backoff_seconds`). A student's failure
is recorded in their report and run record and never stops the others. Memory writes are whole commits, and a
cancelled run waits for a write already under way, so cancelling never leaves half-written state.

The runner only executes: which students run, and what happens after (retry, next due time, run status), is the
scheduler's (youlab_core.scheduler owns claim -> run -> settle). `Runner.run_work` is the scheduler's handler; it
returns a `TaskRunReport`, whose `failures()` the scheduler settles.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Protocol

from ..config import Course, CourseRegistry, TaskSpec
from ..dialectic import Dialectic
from ..llm.base import LLM
from ..memory import MemoryStore
from ..settings import Settings
from .report import StudentReport, TaskRunReport
from .student import StudentRun, StudentRunTools
from .writes import ProposalWrites

if TYPE_CHECKING:
    from ..state import RunRecordStore

log = logging.getLogger(__name__)

Progress = Callable[[StudentReport], None]


class ReportWriter(Protocol):
    """Renders a student's report as an Open WebUI thread; returns the new chat's id (None if none was written)."""

    async def write(self, user_id: str, course: Course, task: TaskSpec, report: StudentReport) -> str | None: ...


class ClaimedStudent(Protocol):
    """What the runner reads of one claimed student (the scheduler's `Claim`)."""

    @property
    def user_id(self) -> str: ...

    @property
    def run_id(self) -> str: ...


class ClaimedBatch(Protocol):
    """What the runner reads of a claimed batch (the scheduler's `DueWork`): read-only, as the scheduler made it."""

    @property
    def task(self) -> str: ...

    @property
    def course_id(self) -> str: ...

    @property
    def trigger(self) -> str: ...

    @property
    def chat_id(self) -> str | None: ...

    @property
    def claims(self) -> Sequence[ClaimedStudent]: ...


def now_utc() -> datetime:
    return datetime.now(timezone.utc)


class Runner:
    def __init__(self, settings: Settings, registry: CourseRegistry, memory: MemoryStore,
                 runs: RunRecordStore | None, dialectic: Dialectic, llm: LLM | None,
                 report_writer: ReportWriter | None = None):
        self.settings = settings
        self.registry = registry
        self.memory = memory
        self.runs = runs
        self.dialectic = dialectic
        self.llm = llm
        self.report_writer = report_writer
        self._slots = asyncio.Semaphore(settings.runner_concurrency)
        # Memory and state store calls block (git, SQL): they get their own threads, one per student slot, rather
        # than the event loop's small shared default pool (Open WebUI's, when we run inside it).
        self.io = ThreadPoolExecutor(max_workers=settings.runner_concurrency + 2, thread_name_prefix="youlab-runner")
        self.writes = ProposalWrites(memory, settings, self.io)
        self.tools = StudentRunTools(settings, memory, dialectic, llm, self.writes, self.io, report_writer,
                                     self._record)

    async def run_work(self, work: ClaimedBatch, *, progress: Progress | None = None) -> TaskRunReport:
        """Run every student of a claimed batch, concurrently within the limit. The scheduler's handler."""
        course = self.registry.course(work.course_id)
        task = course.task(work.task)
        started = time.perf_counter()
        report = TaskRunReport(work.task, work.course_id, work.trigger)
        if task is None:
            for claim in work.claims:
                report.students.append(StudentReport(claim.user_id, claim.run_id, work.task, work.course_id,
                                                     work.trigger, status="failed",
                                                     error=f"course {course.id!r} has no task {work.task!r} any more"))
            return report

        async def one(claim: ClaimedStudent) -> StudentReport:
            async with self._slots:
                result = await self.run_student(course, task, claim.user_id, claim.run_id, work.trigger,
                                                chat_id=work.chat_id)
            if progress is not None:
                progress(result)
            return result

        report.students = list(await asyncio.gather(*(one(c) for c in work.claims)))
        report.duration = time.perf_counter() - started
        return report

    async def run_student(self, course: Course, task: TaskSpec, user_id: str, run_id: str, trigger: str, *,
                          chat_id: str | None = None) -> StudentReport:
        """One student's run. Never raises (except cancellation): failures are in the report and run record."""
        return await StudentRun(self.tools, course, task, user_id, run_id, trigger, chat_id).execute()

    async def _record(self, run_id: str, **fields: Any) -> None:
        """Update the run record; a state store hiccup is logged, never fails the student's run."""
        runs = self.runs
        if runs is None or not run_id:
            return
        try:
            await asyncio.get_running_loop().run_in_executor(self.io, lambda: runs.update_run(run_id, **fields))
        except Exception:
            log.exception("run record %s could not be updated", run_id)

    async def aclose(self) -> None:
        self.io.shutdown(wait=False)
        await asyncio.to_thread(self.writes.shutdown)
        await self.dialectic.aclose()
        close = getattr(self.llm, "aclose", None)
        if close is not None:
            await close()
