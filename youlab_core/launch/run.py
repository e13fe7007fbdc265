"""`scripts/run`: Open WebUI with the YouLab bundle on 127.0.0.1, ready to sign in to.

Order: data dir (secret key, admin login) -> provider (or the offline demo model) -> read-only patch ->
`open-webui serve` -> health -> admin sign-in, LLM connection, `youlab install` -> the ready line and the login ->
wait. Ctrl-C or SIGTERM stops every process it started (each child runs in its own process group).
With `--replicas N` (N > 1): a local PostgreSQL and Redis first, then N Open WebUI processes on them
(replicas.py), one ready line per replica.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from types import FrameType

import httpx

from ..errors import YoulabError
from ..install import InstallOptions, valves_from_env
from .datadir import DataDir
from .env import openwebui_env
from .processes import LaunchError, ManagedProcess, free_port, log_tail, port_is_free, wait_until_healthy
from .provider import Provider, demo_provider, provider_from_env
from .replicas import replica_env, replica_ports, start_replicas, start_services
from .services import HOST
from .stack import apply_patch, default_valves, prepare, start_openwebui

READY_PREFIX = "Open WebUI is ready at "
CHECKOUT = Path(__file__).resolve().parents[2]


class Stop(KeyboardInterrupt):
    """SIGINT or SIGTERM arrived."""


def _on_signal(signum: int, frame: FrameType | None) -> None:
    raise Stop(signal.Signals(signum).name)


def say(text: str) -> None:
    print(text, flush=True)


def parse_args(argv: Sequence[str] | None, environ: os._Environ[str] | dict[str, str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="scripts/run", description=__doc__.splitlines()[0])
    p.add_argument("--port", type=int, default=int(environ.get("YOULAB_PORT") or 8080),
                   help="Open WebUI's port (default: $YOULAB_PORT or 8080)")
    p.add_argument("--data-dir", type=Path, default=Path(environ.get("YOULAB_DATA_DIR") or CHECKOUT / ".data"),
                   help="where everything is kept (default: $YOULAB_DATA_DIR or the checkout's .data/)")
    p.add_argument("--config-dir", type=Path, default=Path(environ.get("YOULAB_CONFIG_DIR") or CHECKOUT / "config"),
                   help="course configuration (default: $YOULAB_CONFIG_DIR or the checkout's config/)")
    p.add_argument("--replicas", type=int, default=int(environ.get("YOULAB_REPLICAS") or 1),
                   help="Open WebUI processes on consecutive ports from --port, sharing a local PostgreSQL and Redis "
                        "(default: $YOULAB_REPLICAS or 1: one process on SQLite, nothing else)")
    p.add_argument("--start-timeout", type=float, default=float(environ.get("YOULAB_START_TIMEOUT") or 600),
                   help="seconds to wait for Open WebUI to answer (default 600)")
    args = p.parse_args(argv)
    if args.replicas < 1:
        p.error(f"--replicas must be 1 or more (got {args.replicas})")
    return args


def start_demo_model(data: DataDir, state: dict, environ: dict[str, str]) -> tuple[ManagedProcess, Provider]:
    # The same port as last time when it is free, so Open WebUI's stored connection stays valid.
    port = state.get("demo_port")
    if not isinstance(port, int) or not port_is_free(port, HOST):
        port = free_port(HOST)
    state["demo_port"] = port
    command = [sys.executable, "-m", "youlab_core", "demo-model", "--host", HOST, "--port", str(port)]
    process = ManagedProcess.start("the demo model", command, env=environ, log_path=data.log_dir / "demo-model.log")
    wait_until_healthy(f"http://{HOST}:{port}", process, timeout=60, path="/v1/models")
    return process, demo_provider(f"http://{HOST}:{port}/v1")


def watch(processes: list[ManagedProcess]) -> None:
    """Block until a child exits on its own (an error) or a signal arrives (Stop)."""
    while True:
        for process in processes:
            if not process.alive():
                raise LaunchError(
                    f"{process.name} stopped unexpectedly (status {process.popen.returncode}).\n"
                    f"Last lines of {process.log_path}:\n{log_tail(process.log_path)}"
                )
        time.sleep(1.0)


def start_replica_set(args: argparse.Namespace, data: DataDir, env: dict[str, str], state: dict,
                      processes: list[ManagedProcess]) -> list[str]:
    """PostgreSQL and Redis under the data directory, then `args.replicas` Open WebUI processes on them; returns
    their URLs. Every process started is in `processes` as soon as it runs (so Ctrl-C stops it)."""
    ports = replica_ports(args.port, args.replicas)
    say(f"==> {args.replicas} replicas: starting PostgreSQL and Redis (data in {data.path}, 127.0.0.1 only)")
    postgres, redis, services = start_services(data.path, state)
    processes += [p for p in (postgres.process, redis.process) if p is not None]
    data.save_launch_state(state)  # their ports, reused next time
    say(f"==> PostgreSQL on {HOST}:{postgres.port} (databases openwebui, youlab), Redis on {HOST}:{redis.port}")

    def announce(index: int, process: ManagedProcess) -> None:
        say(f"==> starting Open WebUI replica {index} on {HOST}:{ports[index - 1]} (pid {process.pid}, "
            f"log {process.log_path})" + ("; the first one alone, this takes a minute or two" if index == 1 else ""))

    started = time.monotonic()
    start_replicas(
        ports, lambda i: replica_env(env, services, static_dir=data.path / "replicas" / str(i) / "static"),
        data_dir=data.path, log_for=lambda i: data.log_dir / f"open-webui-{i}.log", timeout=args.start_timeout,
        started=processes, on_start=announce,
    )
    say(f"==> {args.replicas} replicas answered after {time.monotonic() - started:.0f} s; installing the YouLab "
        "bundle (once: they share the database)")
    return [f"http://{HOST}:{port}" for port in ports]


def run(args: argparse.Namespace, environ: dict[str, str]) -> int:
    started_at = time.monotonic()
    data = DataDir(args.data_dir).ensure()
    config_dir = Path(args.config_dir).resolve()
    url = f"http://{HOST}:{args.port}"
    if not port_is_free(args.port, HOST):
        raise LaunchError(f"port {args.port} on {HOST} is in use: stop what uses it, or pass --port / YOULAB_PORT")
    say(f"==> data directory: {data.path}")
    secret_key = data.secret_key()
    admin = data.admin_login(environ)
    state = data.launch_state()
    connection_state = dict(state.get("connection") or {})
    processes: list[ManagedProcess] = []
    try:
        provider = provider_from_env(environ)
        if provider.needs_demo_model:
            process, provider = start_demo_model(data, state, environ)
            processes.append(process)
            say(f"==> no provider set (OPENAI_API_BASE_URL, OLLAMA_BASE_URL): offline demo model at "
                f"{provider.openai_urls[0]} (pid {process.pid})")
        else:
            say(f"==> provider: {provider.kind} ({', '.join(provider.openai_urls or provider.ollama_urls)})")
        warning = apply_patch()
        if warning:
            say(f"warning: {warning}")
        env = openwebui_env(environ, data_dir=data.path, secret_key=secret_key, admin=admin, provider=provider,
                            config_dir=config_dir)
        if args.replicas > 1:
            urls = start_replica_set(args, data, env, state, processes)
        else:
            log_path = data.log_dir / "open-webui.log"
            openwebui = start_openwebui(env=env, host=HOST, port=args.port, data_dir=data.path, log_path=log_path)
            processes.append(openwebui)
            say(f"==> starting Open WebUI on {HOST}:{args.port} (pid {openwebui.pid}, log {log_path}); "
                "this takes a minute or two")
            waited = wait_until_healthy(url, openwebui, timeout=args.start_timeout)
            say(f"==> Open WebUI answered after {waited:.0f} s; installing the YouLab bundle")
            urls = [url]
        options = InstallOptions(
            config_dir=config_dir,
            valves=default_valves(config_dir, data.storage_root) + valves_from_env(environ),
        )
        prepared = asyncio.run(prepare(url, admin, provider, options, connection_state))
        state["connection"] = connection_state
        data.save_launch_state(state)
        for note in prepared.notes:
            say(f"==> {note}")
        for warning in prepared.report.warnings:
            say(f"warning: {warning}")
        changes = prepared.report.changes
        say(f"==> youlab install: {len(changes)} change(s)" + "".join(f"\n    {c}" for c in changes))
        say(f"==> up in {time.monotonic() - started_at:.0f} s")
        for replica_url in urls:
            say(f"{READY_PREFIX}{replica_url}")
        say(f"  email:    {admin.email}")
        if admin.generated:
            say(f"  password: {admin.password}   (generated once, kept in {data.path / 'youlab-admin.json'})")
        else:
            say(f"  password: {admin.password}   (from YOULAB_ADMIN_PASSWORD)")
        say("Press Ctrl-C to stop.")
        watch(processes)
        return 1  # not reached: watch returns only by raising
    finally:
        if processes:
            say("==> stopping " + ", ".join(f"{p.name} (pid {p.pid})" for p in reversed(processes)))
        for process in reversed(processes):
            process.stop()


def main(argv: Sequence[str] | None = None) -> int:
    environ = dict(os.environ)
    args = parse_args(argv, environ)
    signal.signal(signal.SIGINT, _on_signal)
    signal.signal(signal.SIGTERM, _on_signal)
    try:
        return run(args, environ)
    except Stop:
        say("==> stopped")
        return 0
    except (YoulabError, httpx.HTTPError) as exc:
        print(f"error: {exc}", file=sys.stderr, flush=True)
        return 1
