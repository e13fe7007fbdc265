"""One student's run of one task: ask every query, merge each answer, write the proposals, report.

The proposals of a run are computed first and written together at the end (one commit with
`StudentMemory.propose_many` when the memory store offers it, else one `propose` each), so a run cancelled or failed
part way leaves that student's repository exactly as it was, and a run costs one commit instead of one per query.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import Executor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .. import prompts
from ..config import Course, QuerySpec, TaskSpec
from ..errors import ProposalRefused, StaleDiff, YoulabError
from ..llm.base import LLM, ChatMessage, Completion, Usage
from ..memory.values import equivalent
from ..merge import MergeResult, merge_insight
from . import decided
from .report import ProposedChange, QueryReport, StudentReport
from .retry import call_with_retries
from .writes import finish_even_if_cancelled

if TYPE_CHECKING:
    from ..dialectic import Dialectic
    from ..memory import MemoryStore
    from ..settings import Settings
    from .runner import ReportWriter
    from .writes import ProposalWrites

log = logging.getLogger(__name__)

CONFIDENCE = "medium"  # the dialectic gives no calibrated confidence; the student decides anyway


class CountingLLM(LLM):
    """Wraps the LLM to add up one run's token usage (merge calls do not report it otherwise)."""

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


def nothing_known(text: str) -> bool:
    """Whether the dialectic said it knows nothing (such an answer must not become a memory change)."""
    return prompts.is_nothing_known(text)


@dataclass
class Planned:
    """A change computed and not yet written."""

    result: QueryReport
    current: Any
    merged: MergeResult
    insight: str

    @property
    def query(self) -> QuerySpec:
        return self.result.query

    @property
    def reasoning(self) -> str:
        return f"Asked: {self.query.question}\nLearned: {self.insight}"


@dataclass(frozen=True)
class StudentRunTools:
    """What one student's run uses (the runner builds it once and shares it between runs)."""

    settings: Settings
    memory: MemoryStore
    dialectic: Dialectic
    llm: LLM | None
    writes: ProposalWrites
    io: Executor  # threads for blocking memory and state calls
    report_writer: ReportWriter | None
    record: Callable[..., Awaitable[None]]  # updates the run record; never raises

    async def blocking(self, fn: Callable[..., Any], *args: Any) -> Any:
        """Run a blocking memory or state call on the runner's threads."""
        return await asyncio.get_running_loop().run_in_executor(self.io, lambda: fn(*args))


class StudentRun:
    def __init__(self, tools: StudentRunTools, course: Course, task: TaskSpec, user_id: str, run_id: str,
                 trigger: str, chat_id: str | None):
        self.tools = tools
        self.settings = tools.settings
        self.course, self.task = course, task
        self.user_id, self.run_id, self.chat_id = user_id, run_id, chat_id
        self.report = StudentReport(user_id, run_id, task.name, course.id, trigger)
        self.llm = CountingLLM(tools.llm) if tools.llm is not None else None
        self.memory: Any = None
        self._pending: list[Any] = []
        self._decisions: dict[tuple[str, str], Any] = {}  # (block, field) -> FieldDecisions
        self._blocks: dict[str, dict[str, Any]] = {}

    async def execute(self) -> StudentReport:
        """Never raises (except cancellation): a failure is recorded in the report and the run record."""
        from .runner import now_utc

        report = self.report
        report.started_at = now_utc()
        started = time.perf_counter()
        try:
            self.memory = self.tools.memory.student(self.user_id)
            self._pending = await self.tools.blocking(self.memory.list_diffs, "pending", None, self.course)
            self._decisions = await self.tools.blocking(self.memory.decisions, self.course)
            plans = []
            for query in self.task.queries:
                result, plan = await self._ask_and_merge(query)
                report.queries.append(result)
                if plan is not None:
                    plans.append(plan)
            if plans:
                await self._write(plans)
            report.status = "failed" if any(q.error for q in report.queries) else "succeeded"
        except asyncio.CancelledError:
            report.status = "cancelled"
            raise
        except Exception as exc:  # anything unexpected: this student fails, the batch goes on
            log.exception("task %r: run for student %r failed", self.task.name, self.user_id)
            report.status = "failed"
            report.error = f"{type(exc).__name__}: {exc}"
        report.usage = sum((q.usage for q in report.queries if q.usage is not None), Usage())
        if self.llm is not None:
            report.usage = report.usage + self.llm.usage
        await self._write_thread()
        report.finished_at = now_utc()
        report.duration = time.perf_counter() - started
        await self.tools.record(self.run_id, started_at=report.started_at, thread_chat_id=report.thread_chat_id,
                                 diffs_proposed=report.diffs_proposed,
                                 token_usage={"prompt_tokens": report.usage.prompt_tokens,
                                              "completion_tokens": report.usage.completion_tokens,
                                              "total_tokens": report.usage.total_tokens})
        return report

    # Asking and merging --------------------------------------------------------------------------------------

    async def _ask_and_merge(self, query: QuerySpec) -> tuple[QueryReport, Planned | None]:
        result = QueryReport(query, query.question)
        started = time.perf_counter()
        plan = None
        s = self.settings

        def counted() -> None:
            result.dialectic_attempts += 1

        past = decided.past_decisions(self._decisions.get((query.block, query.field)))
        result.decisions_in_prompt = len(past)
        try:
            answer = await call_with_retries(
                lambda: self.tools.dialectic.ask(self.user_id, self.course, query, system=self.task.system,
                                                  chat_id=self.chat_id, task=self.task, decisions=past),
                timeout=s.dialectic_timeout_seconds, retries=s.call_retries, backoff=s.call_backoff_seconds,
                backoff_max=s.call_backoff_max_seconds, on_attempt=counted)
            result.answer, result.sessions_used, result.usage = answer.text, answer.sessions_used, answer.usage
            result.newest_message_at = answer.newest_message_at
            if not answer.text or nothing_known(answer.text):
                result.skipped_reason = "nothing is known about this yet (no messages in scope)"
            else:
                plan = await self._merge(result, answer.text)
        except asyncio.CancelledError:
            raise
        except ProposalRefused as exc:
            result.skipped_reason = str(exc)
        except Exception as exc:
            result.error = str(exc) if isinstance(exc, YoulabError) else f"{type(exc).__name__}: {exc}"
        result.duration = time.perf_counter() - started
        return result, plan

    async def _merge(self, result: QueryReport, insight: str, *, fresh: bool = False) -> Planned | None:
        query = result.query
        spec = self.course.field_spec(query.block, query.field)
        if spec is None:
            raise ProposalRefused(f"course {self.course.id!r} has no field {query.target!r}")
        if fresh or query.block not in self._blocks:
            block = await self.tools.blocking(self.memory.read_block, self.course, query.block)
            self._blocks[query.block] = dict(block.values)
        current = self._blocks[query.block][query.field]
        s = self.settings

        def counted() -> None:
            result.merge_attempts += 1

        merged = await call_with_retries(
            lambda: merge_insight(query.merge, spec, current, insight, llm=self.llm, field_name=query.field,
                                  timeout=s.call_timeout_seconds),
            timeout=s.call_timeout_seconds, retries=s.call_retries, backoff=s.call_backoff_seconds,
            backoff_max=s.call_backoff_max_seconds, on_attempt=counted)
        if merged is None or equivalent(merged.value, current):
            result.skipped_reason = "the answer adds nothing to the field"
            return None
        same = self._already_pending(query, merged.value)
        if same is not None:
            # A retried run (or a second run before the student reviewed) proposes what is already pending: show
            # that diff again rather than stacking identical ones.
            result.change = ProposedChange(query.target, query.block, query.field, merged.operation, current,
                                           merged.value, same.reasoning, same.id, same.note, reused=True)
            return None
        # What the student already rejected (or undid) there is not asked again: listed in the report's details.
        result.held_back = decided.held_back(query, merged.value, self._decisions.get((query.block, query.field)),
                                             result.newest_message_at)
        if result.held_back is not None:
            return None
        return Planned(result, current, merged, insight)

    def _already_pending(self, query: QuerySpec, value: Any) -> Any:
        for diff in self._pending:
            if diff.block == query.block and diff.field == query.field and equivalent(diff.proposed_value, value):
                return diff
        return None

    # Writing -------------------------------------------------------------------------------------------------

    async def _write(self, plans: list[Planned]) -> None:
        from ..memory import Proposal

        # One commit for all of a student's proposals of this run (a commit per proposal dominated run time).
        proposals = [Proposal(block=p.query.block, field=p.query.field, operation=p.merged.operation,
                              proposed_value=p.merged.value, reasoning=p.reasoning, confidence=CONFIDENCE,
                              source_query=p.query.question, note=p.merged.note, based_on=p.current)
                     for p in plans]
        outcomes = await self.tools.writes.propose_many(self.memory, self.course, proposals, agent=self.task.name,
                                                         run_id=self.run_id)
        for plan, outcome in zip(plans, outcomes):
            if isinstance(outcome, StaleDiff):
                # The field changed while we worked (the student edited it): compute it again, once.
                replanned = await self._merge(plan.result, plan.insight, fresh=True)
                if replanned is None:
                    continue
                plan, outcome = replanned, await self._propose_one(replanned)
            self._settle(plan, outcome)

    async def _propose_one(self, plan: Planned) -> Any:
        memory = self.memory
        try:
            return await finish_even_if_cancelled(self.tools.io, lambda: memory.propose(
                self.course, agent=self.task.name, run_id=self.run_id, block=plan.query.block,
                field=plan.query.field, operation=plan.merged.operation, proposed_value=plan.merged.value,
                reasoning=plan.reasoning, confidence=CONFIDENCE, source_query=plan.query.question,
                note=plan.merged.note, based_on=plan.current))
        except (StaleDiff, ProposalRefused) as exc:
            return exc

    def _settle(self, plan: Planned, outcome: Any) -> None:
        result = plan.result
        if outcome is None:
            return  # re-merged to nothing, or already pending (recorded on the result)
        if isinstance(outcome, ProposalRefused):
            result.skipped_reason = str(outcome)
        elif isinstance(outcome, Exception):
            result.error = str(outcome) if isinstance(outcome, YoulabError) else f"{type(outcome).__name__}: {outcome}"
        else:
            query = plan.query
            result.change = ProposedChange(query.target, query.block, query.field, plan.merged.operation,
                                           plan.current, outcome.proposed_value, plan.reasoning, outcome.id,
                                           plan.merged.note)

    async def _agent_pending(self) -> list[Any] | None:
        """This agent's diffs still pending for the student, from the memory store (None when it cannot be read:
        then the thread writer carries nothing over and archives only by what the older reports show)."""
        try:
            memory = self.memory or self.tools.memory.student(self.user_id)
            diffs: list[Any] = await self.tools.blocking(memory.list_diffs, "pending", self.task.name, self.course)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.warning("task %r: the pending changes of student %r could not be read", self.task.name, self.user_id,
                        exc_info=True)
            return None
        return diffs

    def _nothing_to_read(self) -> bool:
        """A manual run for a student with nothing in the course to read: every question found no chat and nothing
        known. Such a run writes no (empty) report into the student's chat list."""
        queries = self.report.queries
        return (self.report.trigger == "manual" and bool(queries) and not self.report.error
                and all(not q.error and q.change is None and q.held_back is None and not q.sessions_used
                        and (not q.answer or nothing_known(q.answer)) for q in queries))

    async def _write_thread(self) -> None:
        writer = self.tools.report_writer
        report = self.report
        if writer is None or not report.queries:
            return
        if self._nothing_to_read():
            report.no_report = "no report: nothing to read yet (the student has not written in this course)"
            return
        s = self.settings
        report.pending_diffs = await self._agent_pending()
        try:
            report.thread_chat_id = await call_with_retries(
                lambda: writer.write(self.user_id, self.course, self.task, report),
                timeout=s.call_timeout_seconds, retries=s.call_retries, backoff=s.call_backoff_seconds,
                backoff_max=s.call_backoff_max_seconds)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.exception("task %r: the run thread for student %r could not be written", self.task.name, self.user_id)
            report.status = "failed"
            report.error = f"the run thread could not be written: {type(exc).__name__}: {exc}"
