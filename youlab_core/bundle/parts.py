"""Building the bundle's background parts inside Open WebUI, in one place and in order.

state store -> Letta sync (once per memory store) -> Honcho mirror -> LLM, dialectic, runner -> scheduler -> activity worker.
Each part gets what it uses when it is made; nothing is filled in later. Tests and benchmarks hand in their own state,
memory or handler (`Given`) and the rest is built around them.

A part that cannot be built for these settings (no LLM model and no Honcho, say) leaves the scheduler out and says
why in `problem`; counting and Honcho mirroring still run, so nothing the students write is lost meanwhile. New valve
values make a new Bundle, which builds its parts anew (see youlab_core.bundle.process).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..config import CourseRegistry
from ..dialectic import InProcessMessageSource, make_dialectic
from ..dialectic.mirror import HonchoMirror
from ..errors import ConfigError
from ..letta import LettaSync
from ..llm import make_llm
from ..llm.base import LLM, ChatMessage, Completion
from ..memory import MemoryStore
from ..memory.upkeep import Upkeep
from ..runner import Runner
from ..scheduler import Handler, Scheduler
from ..settings import Settings
from ..state import StateStore, open_store
from ..threads import ThreadWriter
from ..threads.runner_writer import RunnerThreadWriter
from ..threads.openwebui import OpenWebUIChats
from .activity import ActivityWorker
from .dashboard_view import DashboardRefresher, DashboardSources
from .memory_view import ViewRefresher

if TYPE_CHECKING:
    from ..triggers import GroupResolver

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Given:
    """Parts handed in instead of built (tests, benchmarks, other hosts)."""

    state: StateStore | None = None
    memory: MemoryStore | None = None  # given memory gets no Letta listener
    handler: Handler | None = None  # the scheduler's handler instead of a runner
    group_resolver: GroupResolver | None = None


@dataclass
class BundleParts:
    state: StateStore
    mirror: HonchoMirror | None
    runner: Runner | None
    scheduler: Scheduler | None
    activity: ActivityWorker
    problem: str = ""  # which setting keeps the agents from running (shown on the agent models), "" when none
    upkeep: Upkeep | None = None  # packs students' repositories now and then (memory/upkeep.py)
    dashboards: DashboardRefresher | None = None  # keeps admins' and teachers' course dashboards current

    def start(self) -> asyncio.Task[None] | None:
        """Start the loops on the running event loop; returns the scheduler's loop task."""
        if self.mirror is not None:
            self.mirror.start()
        if self.upkeep is not None:
            self.upkeep.start()
        if self.dashboards is not None:
            self.dashboards.start()
        if self.scheduler is None:
            return None
        return asyncio.get_running_loop().create_task(self.scheduler.run_forever(), name="youlab-scheduler")

    async def stop(self, grace_seconds: float | None = None) -> None:
        """Stop the loops: the scheduler gives back what it could not finish, the activity worker ends after what
        it already queued, the mirror's queue stays in the store for whoever runs next."""
        if self.scheduler is not None:
            await self.scheduler.stop(grace_seconds)
        self.activity.stop()
        if self.dashboards is not None:
            await self.dashboards.stop()
        if self.upkeep is not None:
            await self.upkeep.stop()
        if self.mirror is not None:
            await self.mirror.stop()
        if self.runner is not None:
            await self.runner.aclose()


async def build_parts(settings: Settings, courses: CourseRegistry, memory: MemoryStore, writer: ThreadWriter,
                      given: Given) -> BundleParts:
    """Every part for these settings. Raises only when the state store cannot be opened (then nothing can run)."""
    state = given.state
    if state is None:
        settings.root.mkdir(parents=True, exist_ok=True)
        state = await asyncio.to_thread(open_store, settings)
    if settings.letta_url and given.memory is None and not any(isinstance(x, LettaSync) for x in memory.listeners):
        memory.add_listener(LettaSync(settings, memory, state, registry=courses))
    mirror = HonchoMirror(state, settings) if settings.honcho_url else None
    runner = None
    handler = given.handler
    problem = ""
    if handler is None:
        try:
            runner = _runner(settings, courses, memory, state, writer)
            handler = runner.run_work
        except ConfigError as exc:
            problem = "; ".join(f"{i.key}: {i.reason}" for i in exc.issues)  # valve names, never paths
            log.error("YouLab's agents cannot run with these settings (%s); chats and counting go on", exc)
    if group_resolver := given.group_resolver:
        resolver = group_resolver
    else:
        from .groups import OpenWebUIGroups

        resolver = OpenWebUIGroups()
    scheduler = Scheduler(state, courses, handler, settings, group_resolver=resolver) if handler else None
    activity = ActivityWorker(state, mirror, scheduler, settings.activity_queue_max)
    dashboards = None
    if isinstance(writer.backend, OpenWebUIChats):  # inside Open WebUI: its users, groups and chats
        dashboards = DashboardRefresher(DashboardSources(state, courses, writer.backend, settings, memory, problem))
    return BundleParts(state, mirror, runner, scheduler, activity, problem, upkeep=Upkeep(memory, settings),
                       dashboards=dashboards)


def _runner(settings: Settings, courses: CourseRegistry, memory: MemoryStore, state: StateStore,
            writer: ThreadWriter) -> Runner:
    # No model set and Honcho on: Honcho answers the questions; llm_diff merges then refuse with a reason.
    llm = AdminLLM(settings) if settings.llm_model or not settings.honcho_url else None
    if llm is not None:
        llm.check()
    dialectic = make_dialectic(settings, llm=llm, source=InProcessMessageSource(), is_agent_thread=state.is_agent_thread)
    views = ViewRefresher(memory, state, writer.backend, courses)  # the memory view follows each proposing run
    return Runner(settings, courses, memory, state, dialectic, llm, report_writer=RunnerThreadWriter(writer, views))


class AdminLLM(LLM):
    """The agents' LLM inside Open WebUI: the admin's configured model, called as the first admin (the agents act for
    the deployment, not a student). The admin is looked up on first use, so the bundle can start before anyone has
    signed up."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self._inner: LLM | None = None

    def check(self) -> None:
        """Raise ConfigError naming what is missing (the model id), without calling anything."""
        make_llm(self.settings, inside_openwebui=True, user_id="check")

    async def complete(self, messages: list[ChatMessage], *, timeout: float | None = None,
                       max_tokens: int | None = None, temperature: float | None = None) -> Completion:
        if self._inner is None:
            self._inner = make_llm(self.settings, inside_openwebui=True, user_id=await _admin_user_id())
        return await self._inner.complete(messages, timeout=timeout, max_tokens=max_tokens, temperature=temperature)


async def _admin_user_id() -> str:
    from ..errors import ConfigError, ConfigIssue
    from ..openwebui import internals as owui

    admin = await owui.super_admin()
    if admin is None:
        raise ConfigError([ConfigIssue("Open WebUI", "users", "there is no admin user yet; agents cannot call a model")])
    return str(admin.id)
