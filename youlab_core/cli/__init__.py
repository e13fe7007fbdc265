"""The `youlab` command. Each subcommand lives in its own module with a `register(subparsers)` function."""

from __future__ import annotations

import argparse
import importlib
import logging
import sys

from ..errors import YoulabError

# Modules that add subcommands, in the order `youlab --help` lists them.
COMMAND_MODULES = [
    "config_cmd",
    "demo_cmd",
    "patch_cmd",
    "install_cmd",
    "run_cmd",
    "scheduler_cmd",
    "runs_cmd",
    "status_cmd",
    "maintenance_cmd",
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="youlab", description="YouLab background agents for Open WebUI")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(f"{__name__}.{name}").register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        return int(args.handler(args) or 0)
    except YoulabError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
