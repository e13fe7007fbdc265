"""scripts/run --replicas: the replica environment, the ports, the flag, and the local PostgreSQL and Redis."""

from __future__ import annotations

import os
import socket
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from youlab_core.launch.processes import LaunchError, free_port, port_is_free
from youlab_core.launch.replicas import SharedServices, replica_env, replica_ports, start_services
from youlab_core.launch.run import parse_args

SERVICES = SharedServices("postgresql+psycopg://u:p@127.0.0.1:1/openwebui",
                          "postgresql+psycopg://u:p@127.0.0.1:1/youlab", "redis://:r@127.0.0.1:2/0")


def test_a_replica_runs_on_the_shared_databases_and_redis_with_its_own_static_dir(tmp_path: Path) -> None:
    env = replica_env({"DATA_DIR": "/d", "STATIC_DIR": "/d/static", "YOULAB_STATE_URL": "sqlite:///x"}, SERVICES,
                      static_dir=tmp_path / "replicas" / "2" / "static")
    assert env["DATABASE_URL"] == SERVICES.database_url and env["YOULAB_STATE_URL"] == SERVICES.state_url
    assert env["REDIS_URL"] == env["WEBSOCKET_REDIS_URL"] == SERVICES.redis_url
    assert env["WEBSOCKET_MANAGER"] == "redis"
    assert env["STATIC_DIR"] == str(tmp_path / "replicas" / "2" / "static") and env["DATA_DIR"] == "/d"


def test_replicas_take_consecutive_ports_and_a_busy_one_is_named() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        with pytest.raises(LaunchError, match=f"{port}.*consecutive ports {port - 1}-{port}"):
            replica_ports(port - 1, 2)
    first = free_port()
    if port_is_free(first + 1):
        assert replica_ports(first, 2) == [first, first + 1]


def test_the_flag_and_the_variable() -> None:
    assert parse_args([], {}).replicas == 1
    assert parse_args([], {"YOULAB_REPLICAS": "3"}).replicas == 3
    assert parse_args(["--replicas", "2"], {"YOULAB_REPLICAS": "3"}).replicas == 2
    with pytest.raises(SystemExit):
        parse_args(["--replicas", "0"], {})


@pytest.fixture
def data_dir() -> Iterator[Path]:
    # scripts/test installs the Debian packages postgresql and redis-server these tests run.
    # Not pytest's tmp_path: its folders are private to root, and the services run as their packages' users.
    root = Path(tempfile.mkdtemp(prefix="youlab-services-"))
    os.chmod(root, 0o755)
    yield root
    import shutil

    shutil.rmtree(root, ignore_errors=True)


def test_services_start_with_passwords_on_loopback_and_come_back_on_the_same_ports(data_dir: Path) -> None:
    import redis

    state: dict[str, object] = {}
    postgres, server, services = start_services(data_dir, state, durable=False)
    try:
        assert services.state_url.endswith("/youlab") and services.database_url.endswith("/openwebui")
        with psycopg.connect(services.state_url.replace("+psycopg", "")) as conn:
            assert conn.execute("SELECT current_database()").fetchone() == ("youlab",)
        with pytest.raises(psycopg.OperationalError):  # a password is required
            psycopg.connect(f"host=127.0.0.1 port={postgres.port} user=postgres password=wrong dbname=youlab")
        assert redis.Redis.from_url(services.redis_url).ping()
        with pytest.raises(redis.AuthenticationError):
            redis.Redis(host="127.0.0.1", port=server.port).ping()
        for secret in (".postgresql-password", ".redis-password"):
            assert stat.S_IMODE((data_dir / secret).stat().st_mode) == 0o600
    finally:
        server.stop()
        postgres.stop()
    assert port_is_free(postgres.port) and port_is_free(server.port)
    again, server2, services2 = start_services(data_dir, state, durable=False)  # the same ports, data, passwords
    try:
        assert (again.port, server2.port, services2) == (postgres.port, server.port, services)
    finally:
        server2.stop()
        again.stop()
