"""`youlab patch apply|revert|status`: both parts of YouLab's changes to Open WebUI, the read-only view of agent
threads in its pages (front-end) and the write guard block in its main.py (server). Each part is reported on its
own line; a failure of one part does not stop the other (exit 2 when any failed)."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from ..errors import YoulabError


def _environment_static_dir() -> Path | None:
    # Before Open WebUI's first start $STATIC_DIR may not exist yet: Open WebUI fills it from the patched package.
    value = os.environ.get("STATIC_DIR")
    return Path(value) if value and Path(value).is_dir() else None


def register(sub: argparse._SubParsersAction) -> None:
    patch = sub.add_parser(
        "patch", help="read-only agent threads in Open WebUI: its pages (front-end) and its API (server write guard)"
    )
    actions = patch.add_subparsers(dest="patch_command", required=True, metavar="ACTION")
    for name, help_text in (
        ("apply", "install both parts (idempotent; run before starting Open WebUI, or restart it after)"),
        ("revert", "restore Open WebUI's original files byte for byte (restart Open WebUI after)"),
        ("status", "report: applied, not applied, outdated or modified (exit 0 only when applied)"),
    ):
        action = actions.add_parser(name, help=help_text)
        action.add_argument(
            "--open-webui-dir",
            type=Path,
            default=None,
            help="the open_webui package directory (default: the one installed in this Python environment)",
        )
        action.add_argument(
            "--static-dir",
            type=Path,
            default=None,
            help="also patch a running server's STATIC_DIR, front-end part only "
            "(default: $STATIC_DIR when it is an existing folder)",
        )
        if name != "status":
            action.add_argument("--force", action="store_true", help="overwrite files the patch did not write")
        action.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    # Imported here: `youlab --help` must not depend on the patch package's assets.
    import openwebui_patches

    package_dir = args.open_webui_dir
    if args.patch_command == "status":
        front = openwebui_patches.status(package_dir, args.static_dir or _environment_static_dir())
        back = openwebui_patches.server.status(package_dir)
        print(front.describe())
        print(back.describe())
        applied = openwebui_patches.PatchState.APPLIED
        return 0 if front.state is applied and back.state is applied else 1
    if args.patch_command == "apply":
        # About the whole installation, the same for both parts: said once (revert works on any version).
        package = openwebui_patches.common.resolve_package(package_dir)
        openwebui_patches.common.check_version(package, openwebui_patches.package_version(package))
    server = openwebui_patches.server.apply if args.patch_command == "apply" else openwebui_patches.server.revert
    failed = False
    for label, step in (
        ("front-end view", lambda: _frontend(args)),
        ("server write guard", lambda: server(package_dir, force=args.force).describe()),
    ):
        try:
            print(step())
        except YoulabError as exc:  # one part's refusal does not stop the other
            print(f"error: {label}: {exc}", file=sys.stderr)
            failed = True
    return 2 if failed else 0


def _frontend(args: argparse.Namespace) -> str:
    import openwebui_patches

    package_dir = args.open_webui_dir
    action = openwebui_patches.apply if args.patch_command == "apply" else openwebui_patches.revert
    if args.static_dir is not None:  # asked for by name: any conflict there is an error
        return action(package_dir, args.static_dir, force=args.force).describe()
    result = action(package_dir, force=args.force)
    live = _environment_static_dir()
    if live is not None:
        # $STATIC_DIR is refreshed from the package at every start anyway: a conflict there is only a warning.
        try:
            result = action(package_dir, live, force=args.force)
        except openwebui_patches.PatchConflict as exc:
            print(f"warning: $STATIC_DIR not changed ({exc}); Open WebUI refreshes it at its next start", file=sys.stderr)
    return result.describe()
