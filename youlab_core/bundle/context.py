"""One `Bundle` per Open WebUI worker process and configuration: the course registry (reloaded on change), the
state store, the memory store, the guard, the thread writer, and (lazily) the runner and the scheduler loop.

Open WebUI re-executes a plugin file on every save and once per worker, but `youlab_core` is imported once per
process, so the cache below survives plugin reloads: the three plugins share one Bundle per distinct Settings.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from typing import Any

from ..config import CourseRegistry, Course, TaskSpec
from ..errors import NotFound
from ..guard import AgentThreadGuard
from ..settings import Settings
from ..threads import OpenWebUIChats, ThreadWriter
from ..threads.backend import ChatBackend

log = logging.getLogger(__name__)

_bundles: dict[str, Bundle] = {}
_bundles_lock = threading.Lock()
_by_identity: dict[int, tuple[Settings, Bundle]] = {}  # fast path for the cached Settings objects of valves.py


STATE_RETRY_SECONDS = 30.0  # after a failed state store open, when to try again


def bundle_for(settings: Settings, *, backend: ChatBackend | None = None) -> Bundle:
    found = _by_identity.get(id(settings))
    if found is not None and found[0] is settings:
        return found[1]
    key = settings.model_dump_json()
    with _bundles_lock:
        found = _bundles.get(key)
        if found is None:
            found = _bundles[key] = Bundle(settings, backend=backend)
        _by_identity[id(settings)] = (settings, found)
        return found


class Bundle:
    def __init__(self, settings: Settings, *, backend: ChatBackend | None = None, state: Any = None):
        self.settings = settings
        self.courses = CourseRegistry(settings.config_dir)
        self._checked_at = 0.0
        self.reload_config(force=True)
        self.backend: ChatBackend = backend or OpenWebUIChats()
        self._state = state
        self._state_failed_at: float | None = None
        self._memory: Any = None
        self._runner: Any = None
        self._scheduler: Any = None
        self._mirror: Any = None
        self._background_failed_at: float | None = None
        self.background_error = ""  # why the runner/scheduler could not start (shown to admins with config problems)
        self._watcher: asyncio.Task[None] | None = None
        self.guard = AgentThreadGuard(self.backend, None, agent_name=self.agent_name)
        self.writer = ThreadWriter(self.backend, None, archive_old_threads=settings.archive_old_threads)
        self._attach_state()
        from .activity import ActivityWorker

        self.activity = ActivityWorker(lambda: self.state, lambda: self.mirror, settings.activity_queue_max)

    # Configuration -------------------------------------------------------------------------------------------

    def reload_config(self, *, force: bool = False) -> None:
        """Re-read course files at most every settings.config_check_seconds; a broken file keeps its last good version."""
        now = time.monotonic()
        if not force and now - self._checked_at < self.settings.config_check_seconds:
            return
        self._checked_at = now
        try:
            issues = self.courses.reload()
        except Exception:  # a config directory that vanished must not break chats
            log.exception("course configuration could not be reloaded from %s", self.settings.config_dir)
            return
        for issue in issues:
            log.warning("course configuration problem (last good version stays active): %s", issue)

    def config_problems(self) -> list[str]:
        problems = [str(i) for i in self.courses.issues]
        return problems + [self.background_error] if self.background_error else problems

    def agent_name(self, task: str) -> str | None:
        try:
            return self.courses.find_task(task)[1].title
        except NotFound:
            return None

    def find_task(self, task: str) -> tuple[Course, TaskSpec]:
        self.reload_config()
        return self.courses.find_task(task)

    def courses_counting(self, model_id: str) -> list[Course]:
        """Courses where a message to `model_id` counts as activity for at least one task (or the tutor)."""
        found = []
        for course in self.courses.courses.values():
            if model_id in course.agent.models or any(course.covers_model(t, model_id) for t in course.tasks):
                found.append(course)
        return found

    # State store (fail open: None when it cannot be opened) ----------------------------------------------------

    @property
    def state(self) -> Any:
        if self._state is None:
            self._attach_state()
        return self._state

    def _attach_state(self) -> None:
        if self._state is None:
            if self._state_failed_at is not None and time.monotonic() - self._state_failed_at < STATE_RETRY_SECONDS:
                return
            try:
                from ..state import open_store

                self.settings.root.mkdir(parents=True, exist_ok=True)
                self._state = open_store(self.settings)
                self._state_failed_at = None
            except Exception:
                self._state_failed_at = time.monotonic()
                log.exception("the YouLab state store could not be opened (%s); chats go on without it",
                              self.settings.database_url.split("@")[-1])
                return
        self.guard.registry = self._state
        self.writer.registry = self._state

    # Memory, runner, scheduler, Honcho mirror (built on first use) ---------------------------------------------

    @property
    def memory(self) -> Any:
        if self._memory is None:
            from ..memory import MemoryStore

            memory = MemoryStore.from_settings(self.settings, courses=self.courses)
            if self.settings.letta_url:
                from ..letta import LettaSync

                memory.add_listener(LettaSync(self.settings, memory, self.state, registry=self.courses))
            self._memory = memory
        return self._memory

    @property
    def mirror(self) -> Any:
        """The Honcho outbox, or None when Honcho is not configured."""
        if not self.settings.honcho_url or self.state is None:
            return None
        if self._mirror is None:
            from ..dialectic.mirror import HonchoMirror, ensure_mirror_started

            state = self.state
            self._mirror = ensure_mirror_started(lambda: HonchoMirror(state, self.settings))
        return self._mirror

    async def runner(self) -> Any:
        if self._runner is None:
            from ..dialectic import InProcessMessageSource, make_dialectic
            from ..llm import make_llm
            from ..runner import Runner
            from ..threads.runner_writer import RunnerThreadWriter

            # No model set and Honcho on: Honcho answers the questions; llm_diff merges then refuse with a reason.
            llm = (make_llm(self.settings, inside_openwebui=True, user_id=await _admin_user_id())
                   if self.settings.llm_model or not self.settings.honcho_url else None)
            dialectic = make_dialectic(
                self.settings, llm=llm, source=InProcessMessageSource(), is_agent_thread=self._registry_says_thread
            )
            self._runner = Runner(
                self.settings, self.courses, self.memory, self.state, dialectic, llm,
                thread_writer=RunnerThreadWriter(self.writer),
            )
        return self._runner

    def _registry_says_thread(self, chat_id: str) -> bool:
        state = self.state
        return bool(state is not None and state.is_agent_thread(chat_id))

    async def ensure_background(self) -> Any:
        """Start (once per process) the scheduler loop and the course-file watcher; returns the scheduler or None.
        Cheap after the first call. A failure is logged and retried after STATE_RETRY_SECONDS, never raised."""
        if self._scheduler is not None:
            return self._scheduler
        if self._watcher is None:
            self._watcher = asyncio.get_running_loop().create_task(self._watch_config(), name="youlab-config-watch")
        if self._background_failed_at is not None and time.monotonic() - self._background_failed_at < STATE_RETRY_SECONDS:
            return None
        try:
            scheduler = self.scheduler(await self.runner())
        except Exception as exc:
            self._background_failed_at = time.monotonic()
            self.background_error = f"the agents cannot run: {exc}"
            log.exception("YouLab's scheduler could not start; chats go on, agents wait")
            return None
        self.background_error = ""
        self.activity.scheduler = scheduler
        return scheduler

    async def _watch_config(self) -> None:
        # The scheduler reads self.courses; without chats nobody would reload it, so a watcher does.
        while True:
            await asyncio.sleep(max(self.settings.config_check_seconds, 0.5))
            await asyncio.to_thread(self.reload_config)

    def scheduler(self, runner: Any) -> Any:
        """The process-wide scheduler loop (started once per process, whatever plugin asks first)."""
        if self._scheduler is None:
            from ..scheduler import Scheduler, ensure_scheduler_started

            state = self.state
            if state is None:
                return None
            self._scheduler = ensure_scheduler_started(
                lambda: Scheduler(state, self.courses, runner.handler, self.settings, group_resolver=_group_resolver())
            )
        return self._scheduler


async def _admin_user_id() -> str:
    """The user the agents' LLM calls run as: the first admin (the agents act for the deployment, not a student)."""
    from open_webui.models.users import Users

    admin = await Users.get_super_admin_user()
    if admin is None:
        raise RuntimeError("Open WebUI has no admin user yet; agents cannot call a model")
    return admin.id


def _group_resolver() -> Any:
    from .groups import OpenWebUIGroups

    return OpenWebUIGroups()
