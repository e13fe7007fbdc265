"""`youlab maintenance [--all | USER_ID...]`: pack and verify students' repositories, with their size before and after.

What background upkeep does a little at a time (youlab_core/memory/upkeep.py), for an operator at once: every loose
object and pack combined into one pack, then `git fsck --full --strict`. A student whose repository is in use right
now is reported as busy and left alone (run again later). `--json` prints one object per student for scripts.
Exit status: 0 when every repository was packed or had nothing to pack and verified clean, 1 otherwise.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..memory.upkeep import RepoReport


def register(sub: argparse._SubParsersAction) -> None:
    cmd = sub.add_parser("maintenance", help="pack and verify students' memory repositories (size before/after)")
    cmd.add_argument("user_ids", nargs="*", metavar="USER_ID", help="students to maintain (Open WebUI user ids)")
    cmd.add_argument("--all", action="store_true", help="every student with a repository")
    cmd.add_argument("--no-verify", action="store_true", help="pack only; skip git fsck")
    cmd.add_argument("--storage-root", type=Path, default=None, help="student repos (default: <data dir>/youlab)")
    cmd.add_argument("--json", action="store_true", help="one JSON object per student")
    cmd.set_defaults(handler=maintenance_command)


def _size(n: int) -> str:
    return f"{n / 1024:.0f} KiB" if n < 10 * 1024 * 1024 else f"{n / 1024 / 1024:.1f} MiB"


def _line(r: RepoReport) -> str:
    parts = [f"{r.user_id}: {r.status}"]
    if r.status == "packed":
        parts.append(f"{_size(r.bytes_before)} -> {_size(r.bytes_after)} ({r.loose_before} loose objects, "
                     f"{r.packs_before} packs before; {r.seconds:.1f}s)")
    if r.verified is not None:
        parts.append("verified" if r.verified else "VERIFY FAILED")
    if r.problem:
        parts.append(r.problem)
    return ", ".join(parts[:1]) + (": " + "; ".join(parts[1:]) if parts[1:] else "")


def maintenance_command(args: argparse.Namespace) -> int:
    from ..errors import YoulabError
    from ..memory import MemoryStore
    from ..memory.upkeep import RepoReport, disk_bytes, pack, verify
    from ..settings import Settings

    if args.all == bool(args.user_ids):
        raise YoulabError("name the students to maintain (USER_ID...) or pass --all, not both")
    settings = Settings.from_env(storage_root=args.storage_root)
    store = MemoryStore.from_settings(settings)
    users = store.user_ids() if args.all else args.user_ids
    failed = False
    for user_id in users:
        repo = store.student(user_id).repo  # refuses an id that could leave the storage root
        report = pack(repo, user_id, force=True)
        if report.status == "not due":  # nothing loose, one pack: still report its size
            report = RepoReport(user_id, "nothing to pack", bytes_before=disk_bytes(repo.path))
            report.bytes_after = report.bytes_before
        if report.status == "no repository":
            report.problem = f"no memory repository at {repo.path}"
        if report.status == "busy":
            report.problem = "in use right now; run again later"
        if report.status not in ("busy", "no repository") and not args.no_verify:
            findings = verify(repo)
            report.verified = not findings
            if findings:
                report.problem = f"git fsck found problems in {repo.path}: {findings}"
        failed = failed or report.status in ("failed", "busy", "no repository") or report.verified is False
        print(json.dumps(report.as_dict()) if args.json else _line(report), flush=True)
    if not users and not args.json:
        print(f"no student repositories under {settings.users_root}", file=sys.stderr)
    return 1 if failed else 0
