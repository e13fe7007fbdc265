"""`youlab runs`: list run records (newest first), e.g. `youlab runs --status failed`; `--triggers` shows, per
task, the work pending and claimed and the schedule's fires and skipped fires."""

from __future__ import annotations

import argparse
import json
import os
import sys
from datetime import UTC, datetime
from pathlib import Path

from ..state import ClaimStore, RunRecord, RunStatus


def register(sub: argparse._SubParsersAction) -> None:
    cmd = sub.add_parser("runs", help="list background-agent runs (newest first)")
    cmd.add_argument("--status", choices=RunStatus.ALL, help="only runs with this status")
    cmd.add_argument("--task", help="only this task")
    cmd.add_argument("--user", help="only this student (Open WebUI user id)")
    cmd.add_argument("--limit", type=int, default=50, help="at most this many (default 50)")
    cmd.add_argument("--json", action="store_true", help="one JSON object per line")
    cmd.add_argument("--triggers", action="store_true",
                     help="instead of runs: per task, work pending and claimed, the next cron fire, fires and skipped fires")
    cmd.add_argument("--storage-root", type=Path, default=None, help="where state.db is (default: <data dir>/youlab)")
    cmd.add_argument("--state-url", default=None, help="SQLAlchemy URL of the state store")
    cmd.set_defaults(handler=runs_command)


def _when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S") if value else "-"


def _row(run: RunRecord) -> dict[str, object]:
    return {
        "id": run.id, "task": run.task, "course": run.course_id, "user": run.user_id, "trigger": run.trigger,
        "status": run.status, "attempts": run.attempts, "due": run.due_at.isoformat() if run.due_at else None,
        "claimed": run.claimed_at.isoformat(), "started": run.started_at.isoformat() if run.started_at else None,
        "finished": run.finished_at.isoformat() if run.finished_at else None, "error": run.error,
        "thread_chat_id": run.thread_chat_id, "diffs_proposed": run.diffs_proposed, "token_usage": run.token_usage,
        "owner": run.owner,
    }


def _table(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> None:
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        print("  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip())


def _print_triggers(store: ClaimStore, task: str | None) -> int:
    now = datetime.now(UTC)
    pending = store.pending_counts(now)
    cursors = {c.task: c for c in store.task_cursors()}
    names = [n for n in sorted(set(pending) | set(cursors)) if task in (None, n)]
    if not names:
        print("no trigger state yet", file=sys.stderr)
        return 0
    header = ("TASK", "DUE", "LATER", "CLAIMED", "NEXT FIRE (UTC)", "FIRES", "SKIPPED", "LAST SKIP (UTC)")
    rows = []
    for name in names:
        due, later, claimed = pending.get(name, (0, 0, 0))
        c = cursors.get(name)
        rows.append((name, str(due), str(later), str(claimed), _when(c.next_fire_at) if c else "-",
                     str(c.fires) if c else "-", str(c.skipped_total) if c else "-", _when(c.last_skip_at) if c else "-"))
    _table(header, rows)
    return 0


def runs_command(args: argparse.Namespace) -> int:
    from ..settings import Settings
    from ..state import open_store

    if args.limit <= 0:
        print("error: --limit must be a positive number", file=sys.stderr)
        return 2
    settings = Settings.from_env(storage_root=args.storage_root, state_url=args.state_url or os.environ.get("YOULAB_STATE_URL") or None)
    store = open_store(settings)
    try:
        if args.triggers:
            return _print_triggers(store, args.task)
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
    header = ("RUN", "TASK", "USER", "TRIGGER", "STATUS", "TRIES", "CLAIMED (UTC)", "FINISHED (UTC)", "DIFFS", "ERROR")
    rows = [
        (r.id[:8], r.task, r.user_id, r.trigger, r.status, str(r.attempts), _when(r.claimed_at), _when(r.finished_at),
         "-" if r.diffs_proposed is None else str(r.diffs_proposed), (r.error or "").replace("\n", " ")[:80])
        for r in runs
    ]
    _table(header, rows)
    return 0
