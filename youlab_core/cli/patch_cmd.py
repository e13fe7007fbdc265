"""`youlab patch apply|revert|status`: the read-only agent thread view in Open WebUI's frontend."""

from __future__ import annotations

import argparse
import os
from pathlib import Path


def _environment_static_dir() -> Path | None:
    # Before Open WebUI's first start $STATIC_DIR may not exist yet: Open WebUI fills it from the patched package.
    value = os.environ.get("STATIC_DIR")
    return Path(value) if value and Path(value).is_dir() else None


def register(sub: argparse._SubParsersAction) -> None:
    patch = sub.add_parser("patch", help="read-only agent threads in Open WebUI's pages (frontend patch)")
    actions = patch.add_subparsers(dest="patch_command", required=True, metavar="ACTION")
    for name, help_text in (
        ("apply", "install the patch (idempotent; run before starting Open WebUI)"),
        ("revert", "restore Open WebUI's original files byte for byte"),
        ("status", "report: applied, not applied, outdated or modified"),
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
            default=_environment_static_dir(),
            help="also patch a running server's STATIC_DIR (default: $STATIC_DIR when it is an existing folder)",
        )
        if name != "status":
            action.add_argument("--force", action="store_true", help="overwrite files the patch did not write")
        action.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    # Imported here: `youlab --help` must not depend on the patch package's assets.
    import openwebui_patches

    from_args = {"package_dir": args.open_webui_dir, "static_dir": args.static_dir}
    if args.patch_command == "apply":
        result = openwebui_patches.apply(**from_args, force=args.force)
    elif args.patch_command == "revert":
        result = openwebui_patches.revert(**from_args, force=args.force)
    else:
        result = openwebui_patches.status(**from_args)
    print(result.describe())
    # status: 0 when applied, 1 otherwise, so scripts can test it.
    if args.patch_command == "status":
        return 0 if result.state is openwebui_patches.PatchState.APPLIED else 1
    return 0
