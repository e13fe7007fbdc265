"""`youlab run TASK (--user ID ... | --all)`: run a background agent by hand, outside Open WebUI.

Progress goes to stderr (a bar on a terminal, one line per student otherwise); the summary table (students, diffs
proposed, failures, time) goes to stdout. Exit status: 0 when every student succeeded, 1 when any failed, 2 for
bad input (unknown task, a task with `manual = false`, missing settings, no --openwebui-db).

It runs only with --openwebui-db, on the Open WebUI host: the student reviews a run's changes in its run thread,
and threads can only be written into Open WebUI's database (see cli/openwebui_db.py).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from pathlib import Path
from typing import Any

from ..errors import ConfigError, ConfigIssue, YoulabError


def register(sub: argparse._SubParsersAction) -> None:
    run = sub.add_parser("run", help="run a background agent by hand for some students or all of them")
    run.add_argument("task", help="task name (or its model id youlab_agents.<task>)")
    who = run.add_mutually_exclusive_group(required=True)
    who.add_argument("--user", action="append", dest="users", metavar="ID", help="a student's Open WebUI user id (repeatable)")
    who.add_argument("--all", action="store_true", help="every student the task covers (active in its course, allowed by user_filter)")
    run.add_argument("--config-dir", type=Path, default=None, help="holds courses/<course>/course.toml (default: $YOULAB_CONFIG_DIR or ./config)")
    run.add_argument("--storage-root", type=Path, default=None, help="student repos and state.db (default: <data dir>/youlab)")
    run.add_argument("--state-url", default=None, help="SQLAlchemy URL of the state store (default: sqlite in the storage root)")
    run.add_argument("--llm-base-url", default=None, help="OpenAI-compatible endpoint, e.g. http://127.0.0.1:8765/v1")
    run.add_argument("--llm-model", default=None, help="model id at that endpoint")
    run.add_argument("--llm-api-key", default=None, help="its key (or $YOULAB_LLM_API_KEY)")
    run.add_argument("--openwebui-url", default=None, help="Open WebUI, to read students' chats over REST")
    run.add_argument("--openwebui-api-key", default=None, help="an ADMIN's API key (or $YOULAB_OPENWEBUI_API_KEY)")
    run.add_argument("--honcho-url", default=None, help="ask Honcho instead of the LLM over Open WebUI chats")
    run.add_argument("--concurrency", type=int, default=None, help="students at once (default: runner_concurrency, 8)")
    run.add_argument("--write-processes", type=int, default=None,
                     help="worker processes for memory writes (default: runner_write_processes, 0 = threads)")
    run.add_argument("--openwebui-db", action="store_true",
                     help="read chats from, and write run threads into, Open WebUI's own database (required: "
                          "students review the changes in those threads; this process needs that Open WebUI's "
                          "DATA_DIR or DATABASE_URL, and WEBUI_SECRET_KEY unless DATA_DIR holds .webui_secret_key)")
    run.add_argument("--details", action="store_true", help="print every student's questions, answers and changes")
    run.set_defaults(handler=run_command)


def settings_from_args(args: argparse.Namespace) -> Any:
    from ..settings import Settings

    overrides = {
        "config_dir": args.config_dir or os.environ.get("YOULAB_CONFIG_DIR") or None,
        "storage_root": args.storage_root,
        "state_url": args.state_url,
        "llm_base_url": args.llm_base_url,
        "llm_model": args.llm_model,
        "llm_api_key": args.llm_api_key,
        "openwebui_url": args.openwebui_url,
        "openwebui_api_key": args.openwebui_api_key,
        "honcho_url": args.honcho_url,
        "runner_concurrency": args.concurrency,
        "runner_write_processes": args.write_processes,
    }
    return Settings.from_env(**overrides)


class ProgressBar:
    """A plain-text progress line on stderr: redrawn in place on a terminal, one line per student otherwise."""

    def __init__(self, total: int, stream: Any = None):
        self.total = total
        self.done = 0
        self.failed = 0
        self.stream = stream or sys.stderr
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.started = time.perf_counter()

    def __call__(self, student: Any) -> None:
        self.done += 1
        self.failed += student.status == "failed"
        elapsed = time.perf_counter() - self.started
        if self.tty:
            width = 30
            filled = int(width * self.done / max(1, self.total))
            self.stream.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {self.done}/{self.total} students, "
                              f"{self.failed} failed, {elapsed:.1f}s")
            if self.done >= self.total:
                self.stream.write("\n")
        else:
            self.stream.write(f"[{self.done}/{self.total}] {student.user_id}: {student.status}, "
                              f"{student.diffs_proposed} change(s) ({elapsed:.1f}s)\n")
        self.stream.flush()


def run_command(args: argparse.Namespace) -> int:
    return asyncio.run(_run(args))


async def _run(args: argparse.Namespace) -> int:
    from ..config import CourseRegistry
    from ..manual import manual_run
    from ..runner import build_runner
    from ..scheduler import Scheduler
    from ..state import open_store
    from ..triggers.manual import check_manual
    from .openwebui_db import NO_THREADS, RUN_INSTEAD, prepare as prepare_openwebui_db

    settings = settings_from_args(args)
    registry = CourseRegistry(settings.config_dir, last_good_dir=settings.root / "config-last-good")
    issues = registry.reload()
    for issue in issues:
        print(f"warning: {issue}", file=sys.stderr)
    course, task = registry.find_task(args.task)  # NotFound names the known tasks
    check_manual(task)
    if not args.openwebui_db:
        raise YoulabError(NO_THREADS.format(command="youlab run without --openwebui-db", instead=RUN_INSTEAD))
    prepare_openwebui_db("youlab run --openwebui-db")
    settings.root.mkdir(parents=True, exist_ok=True)
    state = open_store(settings)
    client = None
    try:
        if settings.openwebui_url:
            from ..openwebui import OpenWebUIClient

            key = settings.openwebui_api_key.get_secret_value()
            if not key:
                raise ConfigError([ConfigIssue("settings", "openwebui_api_key",
                                               "reading students' chats over REST needs an admin API key")])
            client = OpenWebUIClient(settings.openwebui_url, token=key, timeout=settings.call_timeout_seconds)
        runner = build_runner(settings, registry, state, rest_client=client, use_openwebui_db=args.openwebui_db)
        scheduler = Scheduler(state, registry, runner.run_work, settings)
        if args.all:
            students = await asyncio.to_thread(scheduler.covered_students, task.name)
        else:
            students = list(dict.fromkeys(args.users))
        if not students:
            print(f"no students to run {task.name!r} for (nobody has chatted in course {course.id!r} yet)",
                  file=sys.stderr)
            return 0
        print(f"running {task.name!r} ({course.id}) for {len(students)} student(s), "
              f"{settings.runner_concurrency} at a time", file=sys.stderr)
        report = await manual_run(scheduler, runner, task.name, students, progress=ProgressBar(len(students)))
        print(report.render(details=args.details))
        await runner.aclose()
        return 1 if report.failed else 0
    finally:
        if client is not None:
            await client.aclose()
        state.close()
