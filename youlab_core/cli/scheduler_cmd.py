"""`youlab scheduler`: the scheduler loop as its own process (next to, or instead of, the one in Open WebUI).

Due work goes to the runner's handler (`youlab_core.runner.make_handler`, or `--handler MODULE:FACTORY`). SIGTERM or Ctrl-C stops it gracefully:
running batches get `scheduler_shutdown_grace_seconds` to finish, then every claim still held is given back.

With the default handler it runs only where it can write run threads (Open WebUI's DATA_DIR or DATABASE_URL in the
environment): otherwise its runs would propose changes no student can review (see cli/openwebui_db.py).
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import logging
import os
import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import YoulabError

if TYPE_CHECKING:  # annotations only: `youlab --help` stays quick
    from ..config import CourseRegistry
    from ..settings import Settings
    from ..state import StateStore

log = logging.getLogger(__name__)


def register(sub: argparse._SubParsersAction) -> None:
    cmd = sub.add_parser("scheduler", help="run the trigger scheduler loop in this process")
    cmd.add_argument("--config-dir", type=Path, default=None, help="holds courses/<course>/course.toml (default: $YOULAB_CONFIG_DIR or ./config)")
    cmd.add_argument("--storage-root", type=Path, default=None, help="student repos and state.db (default: <data dir>/youlab)")
    cmd.add_argument("--state-url", default=None, help="SQLAlchemy URL (sqlite:///... or postgresql+psycopg://...)")
    cmd.add_argument("--poll-interval", type=float, default=None, help="seconds between ticks (default: poll_interval_seconds)")
    cmd.add_argument("--once", action="store_true", help="one tick, wait for what it started, then exit")
    cmd.add_argument(
        "--handler", dest="handler_factory", default=DEFAULT_HANDLER, metavar="MODULE:FACTORY",
        help=f"factory(settings, registry, store) -> async handler(DueWork) (default: {DEFAULT_HANDLER})",
    )
    cmd.set_defaults(handler=scheduler_command)


DEFAULT_HANDLER = "youlab_core.runner:make_handler"


def resolve_handler(spec: str, settings: Settings, registry: CourseRegistry, store: StateStore) -> Any:
    """Build the handler named `module:factory`. Without one nothing could run, so the scheduler refuses to start."""
    module_name, _, attr = spec.partition(":")
    if not module_name or not attr:
        raise YoulabError(f"--handler {spec!r}: expected MODULE:FACTORY, e.g. {DEFAULT_HANDLER}")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise YoulabError(f"--handler {spec!r}: cannot import {module_name} ({exc})") from None
    factory = getattr(module, attr, None)
    if not callable(factory):
        raise YoulabError(f"--handler {spec!r}: {module_name} has no callable {attr}(settings, registry, store)")
    return factory(settings, registry, store)


def scheduler_command(args: argparse.Namespace) -> int:
    from ..config import CourseRegistry
    from ..memory import MemoryStore
    from ..memory.upkeep import Upkeep
    from ..scheduler import Scheduler
    from ..settings import Settings
    from ..state import open_store

    settings = Settings.from_env(
        config_dir=args.config_dir or os.environ.get("YOULAB_CONFIG_DIR") or None,
        storage_root=args.storage_root,
        state_url=args.state_url,
        poll_interval_seconds=args.poll_interval,
    )
    registry = CourseRegistry(settings.config_dir, last_good_dir=settings.root / "config-last-good")
    for issue in registry.reload():
        print(f"error: {issue}", file=sys.stderr)
    if not registry.courses:
        print(f"error: no usable course under {settings.config_dir}/courses/*/course.toml", file=sys.stderr)
        return 2
    if args.handler_factory == DEFAULT_HANDLER:
        from .openwebui_db import NO_THREADS, SCHEDULER_INSTEAD, database_configured, prepare

        if not database_configured(os.environ):
            raise YoulabError(NO_THREADS.format(
                command="youlab scheduler without Open WebUI's database (DATA_DIR or DATABASE_URL)",
                instead=SCHEDULER_INSTEAD))
        prepare("youlab scheduler")
    store = open_store(settings)
    try:
        scheduler = Scheduler(store, registry, resolve_handler(args.handler_factory, settings, registry, store), settings, reload_registry=True)
        upkeep = Upkeep(MemoryStore.from_settings(settings), settings)  # packs students' repositories now and then
        return asyncio.run(_run(scheduler, once=args.once, upkeep=upkeep))
    finally:
        store.close()


async def _run(scheduler: Any, *, once: bool, upkeep: Any = None) -> int:
    tasks = ", ".join(t.name for _, t in scheduler.registry.tasks()) or "none"
    print(f"youlab scheduler {scheduler.owner}: tasks {tasks}", file=sys.stderr, flush=True)
    if once:
        works = await scheduler.tick()
        await scheduler.drain()
        await scheduler.stop()
        print(f"ran {sum(len(w.claims) for w in works)} student run(s) in {len(works)} batch(es)", file=sys.stderr)
        return 0
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, lambda: asyncio.ensure_future(scheduler.stop()))
    if upkeep is not None:
        upkeep.start()
    await scheduler.run_forever()
    if upkeep is not None:
        await upkeep.stop()
    print("youlab scheduler stopped; unfinished claims released", file=sys.stderr)
    return 0
