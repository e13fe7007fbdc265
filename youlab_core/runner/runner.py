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

from ..config import Course, CourseRegistry, QuerySpec, TaskSpec
from ..dialectic import Dialectic
from ..errors import ProposalRefused, StaleDiff, YoulabError
from ..llm.base import LLM, ChatMessage, Completion, Usage
from ..merge import merge_insight
from .report import ProposedChange, QueryReport, RunReport, StudentReport
from .retry import call_with_retries

log = logging.getLogger(__name__)

Progress = Callable[[StudentReport], None]


class ThreadWriter(Protocol):
    """Renders a student's report as an Open WebUI thread; returns the new chat's id (None if none was written)."""

    async def write(self, user_id: str, course: Course, task: TaskSpec, report: StudentReport) -> str | None: ...


class _CountingLLM(LLM):
    """Wraps the LLM to add up token usage of one student's run (merge calls do not report it otherwise)."""

    def __init__(self, inner: LLM):
        self.inner = inner
        self.usage = Usage()

    async def complete(self, messages: list[ChatMessage], *, timeout: float | None = None,
                       max_tokens: int | None = None, temperature: float | None = None) -> Completion:
        completion = await self.inner.complete(messages, timeout=timeout, max_tokens=max_tokens,
                                               temperature=temperature)
        if completion.usage is not None:
            self.usage = self.usage + completion.usage
        return completion


async def _finish_even_if_cancelled(executor: ThreadPoolExecutor, fn: Callable[[], Any]) -> Any:
    """Run a blocking memory write in a thread; if the run is cancelled meanwhile, wait for the write to end first."""
    future = asyncio.get_running_loop().run_in_executor(executor, fn)
    try:
        return await asyncio.shield(future)
    except asyncio.CancelledError:
        try:
            await future
        except Exception:
            pass
        raise


def _nothing_known(text: str) -> bool:
    """Whether the dialectic said it knows nothing (such an answer must not become a memory change)."""
    from .. import prompts

    check = getattr(prompts, "is_nothing_known", None)
    if check is not None:
        return bool(check(text))
    lowered = text.strip().lower()  # until prompts has a marker: the demo model's and a plain LLM's phrasings
    return lowered.startswith(("i don't know yet", "nothing is known", "nothing_known"))


def _now() -> datetime:
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
        self._io = ThreadPoolExecutor(max_workers=settings.runner_concurrency + 2, thread_name_prefix="youlab-runner")
        self._scheduler: Any = None

    # Entry points --------------------------------------------------------------------------------------------

    async def handler(self, work: Any) -> None:
        """The scheduler's handler: run a claimed batch; report failed students with UserRunsFailed."""
        from ..scheduler import UserRunsFailed

        report = await self.run_work(work)
        failures = {s.user_id: "; ".join(s.errors()) or "failed" for s in report.students if s.status == "failed"}
        if failures:
            raise UserRunsFailed(failures)

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
            failures = {s.user_id: "; ".join(s.errors()) or "failed" for s in report.students if s.failed}
            if failures:
                from ..scheduler import UserRunsFailed

                raise UserRunsFailed(failures)

        kwargs = {"clock": self.clock} if self.clock is not None else {}
        scheduler = Scheduler(self.state, self.registry, handle, self.settings, **kwargs)
        unique = list(dict.fromkeys(students))
        works = await asyncio.to_thread(scheduler.claim_manual, spec.name, unique)
        claimed = {u for w in works for u in w.user_ids}
        await asyncio.gather(*(scheduler.execute(w) for w in works))
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
        """Never raises (except cancellation): a failure is recorded in the report and the run record."""
        report = StudentReport(user_id, run_id, task.name, course.id, trigger, started_at=_now())
        started = time.perf_counter()
        llm = _CountingLLM(self.llm) if self.llm is not None else None
        await self._record(run_id, started_at=report.started_at)
        try:
            memory = self.memory.student(user_id)
            for query in task.queries:
                report.queries.append(await self._run_query(course, task, memory, user_id, run_id, query, llm,
                                                            chat_id=chat_id))
            report.status = "failed" if any(q.error for q in report.queries) else "succeeded"
        except asyncio.CancelledError:
            report.status = "cancelled"
            raise
        except Exception as exc:  # anything unexpected: this student fails, the batch goes on
            log.exception("task %r: run for student %r failed", task.name, user_id)
            report.status = "failed"
            report.error = f"{type(exc).__name__}: {exc}"
        answer_usage = Usage()
        for q in report.queries:
            if q.usage is not None:
                answer_usage = answer_usage + q.usage
        report.usage = answer_usage + (llm.usage if llm is not None else Usage())
        if self.thread_writer is not None and report.queries:
            try:
                report.thread_chat_id = await call_with_retries(
                    lambda: self.thread_writer.write(user_id, course, task, report),
                    timeout=self.settings.call_timeout_seconds, retries=self.settings.call_retries,
                    backoff=self.settings.call_backoff_seconds, backoff_max=self.settings.call_backoff_max_seconds)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.exception("task %r: the run thread for student %r could not be written", task.name, user_id)
                report.status = "failed"
                report.error = f"the run thread could not be written: {type(exc).__name__}: {exc}"
        report.finished_at = _now()
        report.duration = time.perf_counter() - started
        await self._record(run_id, thread_chat_id=report.thread_chat_id, diffs_proposed=report.diffs_proposed,
                           token_usage={"prompt_tokens": report.usage.prompt_tokens,
                                        "completion_tokens": report.usage.completion_tokens,
                                        "total_tokens": report.usage.total_tokens})
        return report

    async def _run_query(self, course: Course, task: TaskSpec, memory: Any, user_id: str, run_id: str,
                         query: QuerySpec, llm: LLM | None, *, chat_id: str | None) -> QueryReport:
        result = QueryReport(query, query.question)
        started = time.perf_counter()

        def counted() -> None:
            result.dialectic_attempts += 1

        s = self.settings
        try:
            answer = await call_with_retries(
                lambda: self.dialectic.ask(user_id, course, query, system=task.system, chat_id=chat_id, task=task),
                timeout=s.dialectic_timeout_seconds, retries=s.call_retries, backoff=s.call_backoff_seconds,
                backoff_max=s.call_backoff_max_seconds, on_attempt=counted)
            result.answer, result.sessions_used, result.usage = answer.text, answer.sessions_used, answer.usage
            if not answer.text or _nothing_known(answer.text):
                result.skipped_reason = "nothing is known about this yet (no messages in scope)"
            else:
                await self._propose(course, task, memory, run_id, query, answer.text, llm, result)
        except asyncio.CancelledError:
            raise
        except ProposalRefused as exc:
            result.skipped_reason = str(exc)
        except Exception as exc:
            result.error = f"{type(exc).__name__}: {exc}" if not isinstance(exc, YoulabError) else str(exc)
        result.duration = time.perf_counter() - started
        return result

    async def _propose(self, course: Course, task: TaskSpec, memory: Any, run_id: str, query: QuerySpec,
                       insight: str, llm: LLM | None, result: QueryReport) -> None:
        spec = course.field_spec(query.block, query.field)
        if spec is None:
            raise ProposalRefused(f"course {course.id!r} has no field {query.target!r}")
        s = self.settings
        reasoning = f"Asked: {query.question}\nLearned: {insight}"

        def counted() -> None:
            result.merge_attempts += 1
        for attempt in range(2):  # once more if the field changed between reading it and proposing
            current = await self._blocking(memory.read_field, course, query.block, query.field)
            merged = await call_with_retries(
                lambda: merge_insight(query.merge, spec, current, insight, llm=llm, field_name=query.field,
                                      timeout=s.call_timeout_seconds),
                timeout=s.call_timeout_seconds, retries=s.call_retries, backoff=s.call_backoff_seconds,
                backoff_max=s.call_backoff_max_seconds, on_attempt=counted)
            if merged is None:
                result.skipped_reason = "the answer adds nothing to the field"
                return
            same = await self._blocking(self._already_pending, memory, course, query, merged.value)
            if same is not None:
                # A retried run (or a second run before the student reviewed) proposes what is already pending:
                # show that diff again rather than stacking identical ones.
                result.change = ProposedChange(query.target, query.block, query.field, merged.operation, current,
                                               merged.value, same.reasoning, same.id, same.note, reused=True)
                return
            try:
                diff = await _finish_even_if_cancelled(self._io, lambda: memory.propose(
                    course, agent=task.name, run_id=run_id, block=query.block, field=query.field,
                    operation=merged.operation, proposed_value=merged.value, reasoning=reasoning,
                    confidence="medium", source_query=query.question, note=merged.note, based_on=current))
            except StaleDiff:
                if attempt == 0:
                    continue
                raise
            result.change = ProposedChange(query.target, query.block, query.field, merged.operation, current,
                                           diff.proposed_value, reasoning, diff.id, merged.note)
            return

    @staticmethod
    def _already_pending(memory: Any, course: Course, query: QuerySpec, value: Any) -> Any:
        from ..memory.values import same_value

        for diff in memory.list_diffs(status="pending", course=course, block=query.block, field=query.field):
            if same_value(diff.proposed_value, value):
                return diff
        return None

    async def _record(self, run_id: str, **fields: Any) -> None:
        """Update the run record; a state store hiccup is logged, never fails the student's run."""
        if self.state is None or not run_id:
            return
        try:
            await self._blocking(lambda: self.state.update_run(run_id, **fields))
        except Exception:
            log.exception("run record %s could not be updated", run_id)

    async def _blocking(self, fn: Callable[..., Any], *args: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(self._io, lambda: fn(*args))

    async def aclose(self) -> None:
        self._io.shutdown(wait=False)
        await self.dialectic.aclose()
        close = getattr(self.llm, "aclose", None)
        if close is not None:
            await close()
