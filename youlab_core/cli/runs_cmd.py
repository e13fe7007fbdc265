"""`youlab runs`: list run records (newest first) with how long each took and the tokens it used, e.g.
`youlab runs --status failed`. `--triggers` shows, per task of the course files (and per task that only the
state store still knows), its triggers, the work pending and claimed, and the schedule's fires and skipped fires.
`--decisions` shows, per course and task, what became of the changes it proposed, over every student's memory."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..dashboard import failure_reason, format_duration, run_duration, run_tokens, trigger_names
from ..state import ClaimStore, RunRecord, RunStatus, TaskAction, TaskCursor

if TYPE_CHECKING:
    from ..config import TaskSpec


def register(sub: argparse._SubParsersAction) -> None:
    cmd = sub.add_parser("runs", help="list background-agent runs (newest first)")
    cmd.add_argument("--status", choices=RunStatus.ALL, help="only runs with this status")
    cmd.add_argument("--task", help="only this task")
    cmd.add_argument("--user", help="only this student (Open WebUI user id)")
    cmd.add_argument("--limit", type=int, default=50, help="at most this many (default 50)")
    cmd.add_argument("--json", action="store_true", help="one JSON object per line")
    cmd.add_argument("--triggers", action="store_true",
                     help="instead of runs: per task, its triggers, work pending and claimed, the next cron fire, "
                          "fires and skipped fires")
    cmd.add_argument("--decisions", action="store_true",
                     help="instead of runs: per course and task, the changes it proposed and what students decided "
                          "(pending, approved, rejected, undone, expired, superseded, stale) and the approval rate")
    cmd.add_argument("--actions", action="store_true",
                     help="instead of runs: who paused, resumed, ran by hand or retried each task, newest first")
    cmd.add_argument("--course", help="with --decisions: only this course")
    cmd.add_argument("--config-dir", type=Path, default=None,
                     help="course files for --triggers (default: $YOULAB_CONFIG_DIR or ./config)")
    cmd.add_argument("--storage-root", type=Path, default=None, help="where state.db is (default: <data dir>/youlab)")
    cmd.add_argument("--state-url", default=None, help="SQLAlchemy URL of the state store")
    cmd.set_defaults(handler=runs_command)


def _when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S") if value else "-"


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _row(run: RunRecord) -> dict[str, object]:
    return {
        "id": run.id, "task": run.task, "course": run.course_id, "user": run.user_id, "trigger": run.trigger,
        "status": run.status, "attempts": run.attempts, "due": _iso(run.due_at), "claimed": _iso(run.claimed_at),
        "started": _iso(run.started_at), "finished": _iso(run.finished_at), "duration_seconds": run_duration(run),
        "error": run.error, "thread_chat_id": run.thread_chat_id, "diffs_proposed": run.diffs_proposed,
        "token_usage": run.token_usage, "total_tokens": run_tokens(run), "owner": run.owner,
        "reason": failure_reason(run.error) if run.status in (RunStatus.failed, RunStatus.retrying) else None,
    }


def _table(header: tuple[str, ...], rows: Sequence[tuple[str, ...]]) -> None:
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        print("  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip())


@dataclass(frozen=True)
class _TaskLine:
    task: str
    course: str | None
    triggers: list[str] | None  # None: the task is in the state store but in no course file read
    due: int
    later: int
    claimed: int
    cursor: TaskCursor | None

    def as_json(self) -> dict[str, Any]:
        c = self.cursor
        return {
            "task": self.task, "course": self.course, "triggers": self.triggers, "configured": self.triggers is not None,
            "due": self.due, "later": self.later, "claimed": self.claimed,
            "next_fire": _iso(c.next_fire_at) if c else None, "fires": c.fires if c else None,
            "skipped": c.skipped_total if c else None, "last_skip": _iso(c.last_skip_at) if c else None,
        }

    def cells(self) -> tuple[str, ...]:
        c = self.cursor
        return (self.task, self.course or "-", ",".join(self.triggers) if self.triggers is not None else "(not configured)",
                str(self.due), str(self.later), str(self.claimed), _when(c.next_fire_at) if c else "-",
                str(c.fires) if c else "-", str(c.skipped_total) if c else "-", _when(c.last_skip_at) if c else "-")


def _configured_tasks(config_dir: Path) -> dict[str, tuple[str, TaskSpec]]:
    """Every task of the course files under `config_dir` by name, with its course id. A task that never ran
    (one that only uses after_messages, or whose schedule was never planned) has no stored state, so the course
    files are what lists it."""
    from ..config import CourseRegistry

    if not (config_dir / "courses").is_dir():
        print(f"note: no course files under {config_dir / 'courses'} (--config-dir); listing only tasks with stored "
              "state", file=sys.stderr)
        return {}
    registry = CourseRegistry(config_dir)
    if registry.reload():
        print("note: some course files have problems (`youlab config check` shows them); their tasks may be missing",
              file=sys.stderr)
    return {task.name: (course.id, task) for course, task in registry.tasks()}


def _print_triggers(store: ClaimStore, task: str | None, config_dir: Path, as_json: bool) -> int:
    configured = _configured_tasks(config_dir)
    pending = store.pending_counts(datetime.now(UTC))
    cursors = {c.task: c for c in store.task_cursors()}
    names = [n for n in sorted(set(configured) | set(pending) | set(cursors)) if task in (None, n)]
    lines = []
    for name in names:
        due, later, claimed = pending.get(name, (0, 0, 0))
        cursor = cursors.get(name)
        course, spec = configured.get(name, (cursor.course_id if cursor else None, None))
        lines.append(_TaskLine(name, course, trigger_names(spec) if spec else None, due, later, claimed, cursor))
    if as_json:
        for line in lines:
            print(json.dumps(line.as_json(), sort_keys=True))
        return 0
    if not lines:
        print("no tasks: no course file lists one and the state store has none", file=sys.stderr)
        return 0
    header = ("TASK", "COURSE", "TRIGGERS", "DUE", "LATER", "CLAIMED", "NEXT FIRE (UTC)", "FIRES", "SKIPPED",
              "LAST SKIP (UTC)")
    _table(header, [line.cells() for line in lines])
    return 0


def approval_rate_text(rate: float | None) -> str:
    return "-" if rate is None else f"{rate:.0%}"


def _print_decisions(users_root: Path, task: str | None, course: str | None, as_json: bool) -> int:
    """Read from every student's `decision_counts.json` and pending index (memory.decisions.decision_summary)."""
    from ..memory import MemoryStore
    from ..memory.decisions import decision_summary

    lines = decision_summary(MemoryStore(users_root), task=task, course=course)
    if as_json:
        for line in lines:
            print(json.dumps(line.as_json(), sort_keys=True))
        return 0
    if not lines:
        print(f"no proposed changes under {users_root}", file=sys.stderr)
        return 0
    header = ("COURSE", "TASK", "PROPOSED", "PENDING", "APPROVED", "REJECTED", "UNDONE", "EXPIRED", "SUPERSEDED",
              "STALE", "APPROVAL RATE")
    _table(header, [(t.course, t.task, str(t.proposed), str(t.pending), str(t.approved), str(t.rejected), str(t.undone),
                     str(t.expired), str(t.superseded), str(t.stale), approval_rate_text(t.approval_rate))
                    for t in lines])
    print("approval rate = approved / (approved + rejected + undone): expired, superseded and stale changes were "
          "never decided by the student", file=sys.stderr)
    return 0


def _print_actions(actions: list[TaskAction], as_json: bool) -> int:
    if as_json:
        for a in actions:
            print(json.dumps({"task": a.task, "course": a.course_id, "action": a.action, "by": a.actor,
                              "at": _iso(a.at), "note": a.note}, sort_keys=True))
        return 0
    if not actions:
        print("nobody paused, resumed, ran or retried a task yet", file=sys.stderr)
        return 0
    _table(("WHEN (UTC)", "WHO", "ACTION", "TASK", "COURSE", "NOTE"),
           [(_when(a.at), a.actor, a.action, a.task, a.course_id, a.note) for a in actions])
    return 0


def runs_command(args: argparse.Namespace) -> int:
    from ..settings import Settings
    from ..state import open_store

    if args.limit <= 0:
        print("error: --limit must be a positive number", file=sys.stderr)
        return 2
    settings = Settings.from_env(
        storage_root=args.storage_root,
        state_url=args.state_url or os.environ.get("YOULAB_STATE_URL") or None,
        config_dir=args.config_dir or os.environ.get("YOULAB_CONFIG_DIR") or None,
    )
    if args.decisions:
        return _print_decisions(settings.users_root, args.task, args.course, args.json)
    store = open_store(settings)
    try:
        if args.triggers:
            return _print_triggers(store, args.task, Path(settings.config_dir), args.json)
        if args.actions:
            return _print_actions(store.task_actions(args.task, limit=args.limit), args.json)
        runs = store.list_runs(status=args.status, task=args.task, user_id=args.user, limit=args.limit)
    finally:
        store.close()
    if args.json:
        for run in runs:
            print(json.dumps(_row(run), sort_keys=True))
        return 0
    if not runs:
        print("no runs match", file=sys.stderr)
        return 0
    header = ("RUN", "TASK", "USER", "TRIGGER", "STATUS", "TRIES", "CLAIMED (UTC)", "FINISHED (UTC)", "DURATION",
              "TOKENS", "DIFFS", "ERROR")
    rows = []
    for r in runs:
        tokens = run_tokens(r)
        rows.append((r.id[:8], r.task, r.user_id, r.trigger, r.status, str(r.attempts), _when(r.claimed_at),
                     _when(r.finished_at), format_duration(run_duration(r)), "-" if tokens is None else str(tokens),
                     "-" if r.diffs_proposed is None else str(r.diffs_proposed),
                     failure_reason(r.error)[:100] if r.error else ""))
    _table(header, rows)
    return 0
