"""`youlab config check [PATH...]`: validate course files; exit 0 when valid, 2 with every error when not."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from ..config import course_files, load_course
from ..errors import ConfigError


def register(sub: argparse._SubParsersAction) -> None:
    config = sub.add_parser("config", help="course configuration")
    config_sub = config.add_subparsers(dest="config_command", required=True, metavar="ACTION")
    check = config_sub.add_parser("check", help="validate course files (default: every course in the config dir)")
    check.add_argument("paths", nargs="*", type=Path, help="course.toml files or config directories")
    check.add_argument(
        "--config-dir",
        type=Path,
        default=Path(os.environ.get("YOULAB_CONFIG_DIR", "config")),
        help="directory holding courses/<course>/course.toml (default: $YOULAB_CONFIG_DIR or ./config)",
    )
    check.set_defaults(handler=check_command)


def _expand(paths: list[Path], config_dir: Path) -> list[Path]:
    if not paths:
        paths = [config_dir]
    files: list[Path] = []
    for path in paths:
        files.extend(course_files(path) if path.is_dir() else [path])
    return files


def check_command(args: argparse.Namespace) -> int:
    files = _expand(args.paths, args.config_dir)
    if not files:
        print(f"error: no course files found (looked for courses/*/course.toml in {args.config_dir})", file=sys.stderr)
        return 2
    failed = 0
    for file in files:
        try:
            course = load_course(file)
        except ConfigError as exc:
            failed += 1
            for issue in exc.issues:
                print(f"error: {issue}", file=sys.stderr)
            continue
        tasks = ", ".join(t.name for t in course.tasks) or "no tasks"
        print(f"ok: {file}: course {course.id!r} ({len(course.blocks)} blocks; tasks: {tasks})")
    return 2 if failed else 0
