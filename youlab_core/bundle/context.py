"""One `Bundle` per Open WebUI worker process and configuration: the course registry (reloaded on change), the guard
and the thread writer at once, and the background parts (state store, memory, Honcho mirror, runner, scheduler,
activity worker; youlab_core.bundle.parts) built and started on Open WebUI's event loop by `start()`.

Open WebUI re-executes a plugin file on every save and once per worker, but `youlab_core` is imported once per
process, so the cache below survives plugin reloads: the three plugins share one Bundle per distinct Settings, and
the most recently started one runs the background parts (youlab_core.bundle.process).
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Awaitable, Callable

from ..config import Course, CourseRegistry, TaskSpec
from ..errors import NotFound
from ..guard import AgentThreadGuard
from ..memory import MemoryStore
from ..scheduler import Scheduler
from ..settings import Settings
from ..state import StateStore
from ..threads import OpenWebUIChats, ThreadWriter
from ..threads.backend import ChatBackend
from . import process
from .parts import BundleParts, Given, build_parts
from .valves import stored_filter_settings
from .write_guard import unprotected_notice

log = logging.getLogger(__name__)

SettingsSource = Callable[[], Awaitable[Settings]]  # the stored valves, read again by the watcher

_bundles: dict[str, Bundle] = {}
_bundles_lock = threading.Lock()
_by_identity: dict[int, tuple[Settings, Bundle]] = {}  # fast path for the cached Settings objects of valves.py

START_RETRY_SECONDS = 30.0  # after a failed start (state store unreachable), when to try again


def bundle_for(settings: Settings, *, backend: ChatBackend | None = None, given: Given | None = None,
               settings_source: SettingsSource | None = None) -> Bundle:
    """The Bundle for these settings (made on first use; `backend`, `given` and `settings_source` only count then)."""
    found = _by_identity.get(id(settings))
    if found is not None and found[0] is settings:
        return found[1]
    key = settings.model_dump_json()
    with _bundles_lock:
        bundle = _bundles.get(key)
        if bundle is None:
            bundle = _bundles[key] = Bundle(settings, backend=backend, given=given, settings_source=settings_source)
        _by_identity[id(settings)] = (settings, bundle)
        return bundle


async def current_bundle() -> Bundle:
    """The bundle for a chat message: the process's active one, whose watcher follows the stored valves within
    `config_check_seconds`, so a message costs no valve read (the global filter and the write guard run on every
    message). Before any bundle started, or while the active one's parts cannot start (a wrong state_url, say), the
    bundle for the valves stored in Open WebUI, read now; if they cannot be read, the active bundle if there is one
    (its guard still has the thread's own markers), else the error propagates (the caller decides: the guard
    refuses, counting lets the chat through)."""
    active = process.active_bundle()
    if active is not None and active.parts is not None:
        return active
    try:
        settings = await stored_filter_settings()
    except Exception:
        if active is None:
            raise
        log.warning("YouLab could not read its stored valves; using the current settings", exc_info=True)
        return active
    return bundle_for(settings, settings_source=stored_filter_settings)


class Bundle:
    def __init__(self, settings: Settings, *, backend: ChatBackend | None = None, given: Given | None = None,
                 settings_source: SettingsSource | None = None):
        self.settings = settings
        self.courses = CourseRegistry(settings.config_dir, last_good_dir=settings.root / "config-last-good")
        self._checked_at = 0.0
        self.reload_config(force=True)
        self.backend: ChatBackend = backend or OpenWebUIChats()
        self.given = given or Given()
        self.settings_source = settings_source
        self.guard = AgentThreadGuard(self.backend, self.given.state, agent_name=self.agent_name)
        self.writer = ThreadWriter(self.backend, self.given.state, archive_old_threads=settings.archive_old_threads)
        # Memory needs no state store: the tutor's prompt keeps its memory while the state store is unreachable.
        self.memory: MemoryStore = self.given.memory or MemoryStore.from_settings(settings, courses=self.courses)
        self.parts: BundleParts | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._start_lock = threading.Lock()
        self._starting: asyncio.Future[None] | None = None
        self._start_failed_at: float | None = None

    # Configuration -------------------------------------------------------------------------------------------

    def reload_config(self, *, force: bool = False) -> None:
        """Re-read course files at most every settings.config_check_seconds. A broken file keeps its last good
        version; the registry logs each file's problems once per change of them, not on every reload."""
        now = time.monotonic()
        if not force and now - self._checked_at < self.settings.config_check_seconds:
            return
        self._checked_at = now
        try:
            self.courses.reload()
        except Exception:  # an unexpected failure must not break chats
            log.exception("course configuration could not be reloaded from %s", self.settings.config_dir)

    def config_problems(self, course_id: str | None = None) -> list[str]:
        """What the agent models' descriptions show (everyone can read them): the problems of `course_id`'s file
        (or of all files) named relative to the config directory, and what keeps the agents from running (a setting
        named by its valve). No server path, no exception text: the log has those."""
        problems = self.courses.problem_lines(course_id)
        background = self.parts.problem if self.parts is not None else ""
        if background:
            problems.append(f"The agents cannot run: {background}.")
        unprotected = unprotected_notice()
        if unprotected:
            problems.append(unprotected)
        return problems

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

    # The background parts ------------------------------------------------------------------------------------

    @property
    def state(self) -> StateStore | None:
        """The state store once started (None before, or while it cannot be opened: counting fails open)."""
        return self.parts.state if self.parts is not None else self.given.state

    @property
    def scheduler(self) -> Scheduler | None:
        return self.parts.scheduler if self.parts is not None else None

    async def start(self) -> BundleParts | None:
        """Build and start the background parts on the running event loop, once, and make this the process's active
        bundle. Cheap once started. Never raises: a failure is logged and tried again after START_RETRY_SECONDS;
        until then the parts are None (counting fails open, the guard keeps its other sources)."""
        if self.parts is not None and process.active_bundle() is self:
            return self.parts
        with self._start_lock:
            starting = self._starting
            if starting is None:
                failed = self._start_failed_at
                if failed is not None and time.monotonic() - failed < START_RETRY_SECONDS:
                    return None
                starting = self._starting = asyncio.get_running_loop().create_future()
                mine = True
            else:
                mine = False
        if not mine:
            await asyncio.shield(starting)
            return self.parts
        try:
            await self._start()
        except Exception:  # e.g. the previous bundle's parts failed to stop: chats go on, the next call retries
            self._start_failed_at = time.monotonic()
            log.exception("YouLab's background parts could not start; chats go on without them")
        finally:
            with self._start_lock:
                self._starting = None
            starting.set_result(None)
        return self.parts

    async def _start(self) -> None:
        await process.activate(self)
        if self.parts is None:
            try:
                parts = await build_parts(self.settings, self.courses, self.memory, self.writer, self.given)
            except Exception:
                self._start_failed_at = time.monotonic()
                log.exception("YouLab's state store could not be opened (%s); chats go on without it",
                              self.settings.database_url.split("@")[-1])
                return
            self._start_failed_at = None
            self.guard.registry = parts.state
            self.writer.registry = parts.state
            self.parts = parts
        self._loop = asyncio.get_running_loop()
        scheduler_loop = self.parts.start()
        self._tasks = [t for t in (scheduler_loop, self._loop.create_task(self._watch(), name="youlab-watch")) if t]

    async def stop_background(self, grace_seconds: float | None = None) -> None:
        """Stop the loops this bundle started (it stays usable: start() builds and starts them again)."""
        parts, tasks, loop = self.parts, self._tasks, self._loop
        self.parts, self._tasks = None, []
        if parts is None:
            return
        if loop is None or loop.is_closed() or loop is not asyncio.get_running_loop():
            parts.activity.stop()  # started on a loop that is gone (tests): nothing left to await there
            return
        for task in tasks:
            if task.get_name() == "youlab-watch":
                task.cancel()
        await parts.stop(grace_seconds)
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _watch(self) -> None:
        # The scheduler reads self.courses; without chats nobody would reload it, so the watcher does. It also
        # notices new valve values saved in the admin panel, so they reach the parts without a chat message.
        while True:
            await asyncio.sleep(max(self.settings.config_check_seconds, 0.5))
            await asyncio.to_thread(self.reload_config)
            if self.settings_source is None:
                continue
            try:
                latest = await self.settings_source()
            except Exception:
                log.warning("YouLab could not read the stored valves; keeping the current settings", exc_info=True)
                continue
            if latest.model_dump_json() != self.settings.model_dump_json():
                successor = bundle_for(latest, backend=self.backend, settings_source=self.settings_source)
                asyncio.get_running_loop().create_task(successor.start(), name="youlab-settings-changed")
                return
