"""`youlab install`: put the bundle's plugins, valves and model records into a running Open WebUI."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from pathlib import Path
from typing import TextIO

from ..errors import YoulabError
from ..install import InstallOptions, InstallReport, install, parse_valve_args, valves_from_env
from ..openwebui import OpenWebUIClient


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "install",
        help="install or update the YouLab functions and model records in Open WebUI (idempotent)",
        description="Creates or updates the functions from plugins/, activates them, makes the filter global, sets "
        "valves, and writes the course tutor and hidden agent model records. Never calls /api/v1/functions/sync.",
    )
    p.add_argument("--url", default=os.environ.get("YOULAB_OPENWEBUI_URL"), help="Open WebUI base URL")
    auth = p.add_mutually_exclusive_group()
    auth.add_argument("--api-key", default=None, help="an admin's API key (or $YOULAB_OPENWEBUI_API_KEY)")
    auth.add_argument("--email", default=None, help="admin email (with --password)")
    p.add_argument("--password", default=None, help="admin password (or $YOULAB_OPENWEBUI_PASSWORD)")
    p.add_argument("--config-dir", type=Path, default=Path(os.environ.get("YOULAB_CONFIG_DIR", "config")),
                   help="holds courses/<course>/course.toml (default: $YOULAB_CONFIG_DIR or ./config)")
    p.add_argument("--plugins-dir", type=Path, default=None, help="default: plugins/ of this checkout")
    p.add_argument("--valve", action="append", default=[], metavar="[FUNCTION_ID.]NAME=VALUE",
                   help="set a valve (repeatable); also from $YOULAB_VALVE_<NAME>")
    p.add_argument("--agent-access", choices=["public", "private"], default="public",
                   help="read grant of the hidden agent model records (public: students' threads show the agent)")
    p.add_argument("--show-base-models", action="store_true",
                   help="keep the tutors' base models listed in the model selector (default: hidden, still usable "
                        "through the tutor, so students see their courses' tutors only)")
    p.set_defaults(handler=install_command)


def install_command(args: argparse.Namespace) -> int:
    if not args.url:
        raise YoulabError("--url is required (or set YOULAB_OPENWEBUI_URL)")
    api_key = args.api_key or (None if args.email else os.environ.get("YOULAB_OPENWEBUI_API_KEY"))
    password = args.password or os.environ.get("YOULAB_OPENWEBUI_PASSWORD")
    if not api_key and not (args.email and password):
        raise YoulabError("give --api-key KEY, or --email E --password P")
    options = InstallOptions(
        plugins_dir=args.plugins_dir,
        config_dir=args.config_dir,
        valves=valves_from_env(os.environ) + parse_valve_args(args.valve),
        agent_access=args.agent_access,
        hide_base_models=not args.show_base_models,
    )
    report = asyncio.run(_run(args.url, api_key, args.email, password, options))
    print_report(report)
    return 0


async def _run(url: str, api_key: str | None, email: str | None, password: str | None,
               options: InstallOptions) -> InstallReport:
    async with OpenWebUIClient(url, token=api_key) as client:
        if not api_key:
            user = await client.sign_in(email or "", password or "")
            if user.get("role") != "admin":
                raise YoulabError(f"{email} is not an admin of {url}; the installer needs an admin account")
        return await install(client, options)


def print_report(report: InstallReport, stream: TextIO = sys.stdout) -> None:
    for warning in report.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    if report.changes:
        for change in report.changes:
            print(f"changed: {change}", file=stream)
    else:
        print("no changes: Open WebUI already matches", file=stream)
    print(f"functions: {', '.join(report.functions) or '(none found in plugins/)'}", file=stream)
    print(f"models: {', '.join(report.models) or '(none)'}", file=stream)
