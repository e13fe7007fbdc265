"""Several Open WebUI processes on one PostgreSQL and one Redis (`scripts/run --replicas N`, the replica tests).

Every replica gets the same environment as a single Open WebUI (`openwebui_env`) plus: Open WebUI's database on
PostgreSQL (`DATABASE_URL`), YouLab's state store on PostgreSQL (`YOULAB_STATE_URL`, read by `Settings`), Redis
for Open WebUI's websockets and shared app state (`REDIS_URL`, `WEBSOCKET_MANAGER=redis`, `WEBSOCKET_REDIS_URL`),
and a STATIC_DIR of its own (Open WebUI empties and refills it at every start). The data directory, and so the
storage root with the students' repositories, is shared.

The first replica starts alone: on an empty database it runs Open WebUI's migrations and creates the admin; the
others then start together and find the schema in place.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from .processes import LaunchError, ManagedProcess, free_port, port_is_free, wait_until_healthy
from .services import HOST, LocalPostgres, LocalRedis
from .stack import start_openwebui

OPENWEBUI_DATABASE = "openwebui"
STATE_DATABASE = "youlab"


@dataclass(frozen=True)
class SharedServices:
    """Where the replicas' shared state lives (URLs carry the generated passwords)."""

    database_url: str  # Open WebUI's DATABASE_URL
    state_url: str  # YouLab's state store
    redis_url: str


def replica_env(base: Mapping[str, str], services: SharedServices, *, static_dir: Path) -> dict[str, str]:
    """One replica's environment: `base` (from `openwebui_env`) on the shared PostgreSQL and Redis."""
    env = dict(base)
    env.update({
        # psycopg 3 (in the environment) for Open WebUI's sync and async engines alike; a plain postgresql://
        # would make its sync engine look for psycopg2, which is not installed.
        "DATABASE_URL": services.database_url,
        "YOULAB_STATE_URL": services.state_url,
        "REDIS_URL": services.redis_url,
        "WEBSOCKET_MANAGER": "redis",
        "WEBSOCKET_REDIS_URL": services.redis_url,
        "ENABLE_WEBSOCKET_SUPPORT": "true",
        "STATIC_DIR": str(static_dir),
    })
    return env


def service_port(state: dict[str, object], key: str) -> int:
    """The port a service had last time when it is free (its URL stays the same), else a new free one."""
    port = state.get(key)
    if not isinstance(port, int) or not port_is_free(port, HOST):
        port = free_port(HOST)
    state[key] = port
    return port


def start_services(data_dir: Path, state: dict[str, object], *, durable: bool = True
                   ) -> tuple[LocalPostgres, LocalRedis, SharedServices]:
    """PostgreSQL (databases `openwebui` and `youlab`) and Redis under `data_dir`; stops what it started when
    the second fails."""
    logs = data_dir / "logs"
    postgres = LocalPostgres(data_dir / "postgresql", service_port(state, "postgres_port"), logs / "postgresql.log",
                             durable=durable)
    redis = LocalRedis(data_dir / "redis", service_port(state, "redis_port"), logs / "redis.log")
    postgres.start()
    try:
        services = SharedServices(postgres.ensure_database(OPENWEBUI_DATABASE),
                                  postgres.ensure_database(STATE_DATABASE), redis.url)
        redis.start()
    except BaseException:
        postgres.stop()
        raise
    return postgres, redis, services


def replica_ports(first: int, count: int) -> list[int]:
    ports = [first + i for i in range(count)]
    busy = [p for p in ports if not port_is_free(p, HOST)]
    if busy:
        raise LaunchError(f"port(s) {', '.join(map(str, busy))} on {HOST} in use: {count} replicas need the "
                          f"consecutive ports {first}-{first + count - 1}; stop what uses them, or pass --port")
    return ports


def start_replicas(
    ports: list[int],
    env_for: Callable[[int], dict[str, str]],
    *,
    data_dir: Path,
    log_for: Callable[[int], Path],
    timeout: float,
    started: list[ManagedProcess],
    on_start: Callable[[int, ManagedProcess], None] | None = None,
) -> None:
    """Start one replica per port (index 1..N): the first alone until healthy, then the rest together. Each
    started process is appended to `started` at once (so the caller stops it whatever happens next)."""
    def launch(index: int) -> ManagedProcess:
        process = start_openwebui(env=env_for(index), host=HOST, port=ports[index - 1], data_dir=data_dir,
                                  log_path=log_for(index))
        process.name = f"Open WebUI replica {index}"
        started.append(process)
        if on_start is not None:
            on_start(index, process)
        return process

    first = launch(1)
    wait_until_healthy(f"http://{HOST}:{ports[0]}", first, timeout=timeout)
    rest = [(index, launch(index)) for index in range(2, len(ports) + 1)]
    for index, process in rest:
        wait_until_healthy(f"http://{HOST}:{ports[index - 1]}", process, timeout=timeout)
