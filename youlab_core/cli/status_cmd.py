"""`youlab status`, `youlab pause TASK`, `youlab resume TASK`: the figures of each course for the people who run
it, and stopping a task's runs for a while.

`youlab status [--course C] [--json]` prints, per course, its configuration problems, per task its triggers, state
(paused, by whom), work pending and latest runs (failing tasks marked), and per student their activity, runs and
what became of the changes the agents proposed (counts, never values); then the outbox backlogs. The figures come
from `youlab_core.dashboard`, which the in-browser view shares. `--json` prints one JSON object.

`youlab pause TASK` keeps the task's triggers counting but starts no runs until `youlab resume TASK`; both are
stored in the state database (every process sees them, a restart keeps them) with who did it (`--by`, default the
system user). Exit status 2 for an unknown task or a wrong command line.
"""

from __future__ import annotations

import argparse
import getpass
import json
import logging
import os
import socket
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..config import CourseRegistry
    from ..dashboard import CourseStatus, Status
    from ..settings import Settings


def _common(cmd: argparse.ArgumentParser) -> None:
    cmd.add_argument("--config-dir", type=Path, default=None, help="course files (default: $YOULAB_CONFIG_DIR or ./config)")
    cmd.add_argument("--storage-root", type=Path, default=None, help="state.db and students' repositories "
                                                                      "(default: <data dir>/youlab)")
    cmd.add_argument("--state-url", default=None, help="SQLAlchemy URL of the state store")


def register(sub: argparse._SubParsersAction) -> None:
    cmd = sub.add_parser("status", help="per course: problems, tasks and their latest runs, students' progress")
    cmd.add_argument("--course", help="only this course (its id)")
    cmd.add_argument("--runs", type=int, default=5, help="latest runs shown per task (default 5)")
    cmd.add_argument("--no-students", action="store_true", help="leave out the students of each course")
    cmd.add_argument("--task", help="only this task's runs")
    cmd.add_argument("--status", choices=("succeeded", "failed", "retrying", "running", "claimed"),
                     help="only runs with this status (searched in every run, not only the latest)")
    cmd.add_argument("--json", action="store_true", help="one JSON object")
    _common(cmd)
    cmd.set_defaults(handler=status_command)
    for name, verb in (("pause", "pause a task: its triggers keep counting, no run starts"),
                       ("resume", "resume a paused task: what became due meanwhile runs")):
        act = sub.add_parser(name, help=verb)
        act.add_argument("task", metavar="TASK", help="the task's name (or its model id youlab_agents.TASK)")
        act.add_argument("--by", default=None, help="who does it, recorded with it (default: the system user)")
        act.add_argument("--note", default="", help="why, recorded with it")
        _common(act)
        act.set_defaults(handler=pause_command, resume=name == "resume")


def _settings(args: argparse.Namespace) -> Settings:
    from ..settings import Settings

    return Settings.from_env(
        storage_root=args.storage_root,
        state_url=args.state_url or os.environ.get("YOULAB_STATE_URL") or None,
        config_dir=args.config_dir or os.environ.get("YOULAB_CONFIG_DIR") or None,
    )


def _registry(settings: Settings) -> CourseRegistry:
    from ..config import CourseRegistry

    registry = CourseRegistry(Path(settings.config_dir))
    # The problems are part of what the command prints (names relative to the config dir): not logged again here.
    quiet = logging.getLogger("youlab_core.config.registry")
    level = quiet.level
    quiet.setLevel(logging.CRITICAL)
    try:
        registry.reload()
    finally:
        quiet.setLevel(level)
    return registry


def _when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S") if value else "-"


def _table(header: tuple[str, ...], rows: Sequence[tuple[str, ...]], indent: str = "  ") -> None:
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        print(indent + "  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip())


def _print_course(course: CourseStatus) -> None:
    from .runs_cmd import approval_rate_text
    from ..dashboard import failure_reason, format_duration, run_duration, run_tokens

    teachers = ", ".join(course.teachers) or "none"
    print(f"Course {course.course_id} ({course.name}); teachers: {teachers}; teachers read memory: "
          f"{'yes' if course.teachers_read_memory else 'no'}")
    for p in course.problems:
        print(f"  PROBLEM {p.file}: {p.key}: {p.reason}")
    if course.problems:
        print("  (the last good version of the file keeps running until it is fixed)")
    for task in course.tasks:
        state = f"PAUSED by {task.paused.paused_by} since {_when(task.paused.paused_at)}" if task.paused else "active"
        mark = "  FAILING" if task.failing else ""
        print(f"  Task {task.task} [{', '.join(task.triggers)}]: {state}; due {task.due}, later {task.later}, "
              f"running {task.claimed}{mark}")
        if task.paused and task.paused.note:
            print(f"    pause note: {task.paused.note}")
        if task.decisions is not None and task.decisions.proposed:
            d = task.decisions
            print(f"    changes: {d.proposed} proposed, {d.approved} approved, {d.rejected + d.undone} rejected "
                  f"(undone included), {d.pending} waiting, {d.expired} expired; approval rate "
                  f"{approval_rate_text(d.approval_rate)}")
        if not task.runs:
            print("    no runs yet")
            continue
        rows = []
        for line in task.runs:
            r, tokens = line.run, run_tokens(line.run)
            rows.append((r.trigger, _when(r.started_at or r.claimed_at), format_duration(run_duration(r)), r.user_id,
                         r.status, "-" if tokens is None else str(tokens), _when(line.next_retry),
                         failure_reason(r.error)[:100] if line.failed else ""))
        _table(("TRIGGER", "START (UTC)", "DURATION", "STUDENT", "STATUS", "TOKENS", "NEXT RETRY", "REASON"), rows,
               indent="    ")
    if course.students is None:
        return
    if not course.students:
        print("  no students with activity yet")
        return
    print(f"  Students ({len(course.students)}):")
    _table(("STUDENT", "LAST ACTIVITY (UTC)", "MESSAGES", "RUNS", "FAILED", "PROPOSED", "APPROVED", "REJECTED",
            "WAITING", "TIME TO DECIDE"),
           [(s.user_id, _when(s.last_activity), str(s.messages), str(s.runs), str(s.failed_runs), str(s.proposed),
             str(s.approved), str(s.rejected), str(s.waiting), format_duration(s.decide_seconds))
            for s in course.students], indent="    ")


def _print_actions(course: CourseStatus) -> None:
    if course.actions:
        print("  Who did what:")
        _table(("WHEN (UTC)", "WHO", "ACTION", "TASK", "NOTE"),
               [(_when(a.at), a.actor, a.action, a.task, a.note) for a in course.actions], indent="    ")


def print_status(status: Status) -> None:
    for p in status.unloaded:
        print(f"NOT LOADED {p.file}: {p.key}: {p.reason}")
    if not status.courses:
        print("no courses loaded", file=sys.stderr)
    for course in status.courses:
        _print_course(course)
        for line in course.blocked:
            print(f"  WILL NOT RUN: {line}")
        _print_actions(course)
    for file, at in status.health.problems_since.items():
        print(f"Problems in {file} since {_when(at)} (when the file was last changed)")
    if not status.health.heartbeats:
        print("Schedulers: none has ticked yet")
    for beat in status.health.heartbeats:
        print(f"Scheduler {beat.owner}: last tick {_when(beat.at)}, running since {_when(beat.started_at)}")
    print("Outbox: " + "; ".join(f"{queue} {s.queued} queued, {s.dead} dead, {s.overflowed} overflowed"
                                 for queue, s in status.outbox.items()))


def status_command(args: argparse.Namespace) -> int:
    from ..dashboard import agents_problem, course_status
    from ..state import open_store

    if args.runs <= 0:
        print("error: --runs must be a positive number", file=sys.stderr)
        return 2
    settings = _settings(args)
    registry = _registry(settings)
    if args.course and args.course not in registry.courses:
        known = ", ".join(sorted(registry.courses)) or "none"
        print(f"error: no course {args.course!r} is loaded (courses: {known})", file=sys.stderr)
        return 2
    store = open_store(settings)
    try:
        status = course_status(store, registry, datetime.now(UTC), course=args.course, users_root=settings.users_root,
                               students=not args.no_students, runs_per_task=args.runs, status=args.status,
                               task=args.task, agents_problem=agents_problem(settings))
    finally:
        store.close()
    if args.json:
        print(json.dumps(status.as_json(), sort_keys=True))
    else:
        print_status(status)
    return 0


def default_actor() -> str:
    """Who a command-line pause is recorded as when --by is not given: the system user on this host."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown"
    return f"{user}@{socket.gethostname()} (command line)"


def pause_command(args: argparse.Namespace) -> int:
    from ..errors import NotFound
    from ..state import open_store

    settings = _settings(args)
    registry = _registry(settings)
    try:
        course, task = registry.find_task(args.task)
    except NotFound as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    actor = args.by or default_actor()
    store = open_store(settings)
    try:
        if args.resume:
            changed = store.resume_task(task.name, course.id, actor, args.note)
            print(f"task {task.name} resumed by {actor}: work that became due meanwhile runs at the next tick"
                  if changed else f"task {task.name} was not paused; nothing changed")
        else:
            changed = store.pause_task(task.name, course.id, actor, args.note)
            print(f"task {task.name} paused by {actor}: its triggers keep counting, no run starts until "
                  f"`youlab resume {task.name}`" if changed else f"task {task.name} was already paused; nothing changed")
    finally:
        store.close()
    return 0
