"""A real PostgreSQL server for the test session (Debian's `postgresql` package), on 127.0.0.1 only.

The data directory is a temporary folder owned by the `postgres` user; as root we run the server through
`runuser -u postgres --` (PostgreSQL refuses to run as root). fsync is off: the tests need a real server's
locking and SQL, not crash durability of the test data.
"""

from __future__ import annotations

import glob
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest


def _bin_dir() -> Path:
    explicit = os.environ.get("YOULAB_PG_BIN")
    if explicit:
        return Path(explicit)
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/postgres"))
    if not found:
        raise RuntimeError("PostgreSQL is not installed (Debian package `postgresql`; scripts/test installs it)")
    return Path(found[-1]).parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class PostgresServer:
    def __init__(self) -> None:
        self.bin = _bin_dir()
        self.root = Path(tempfile.mkdtemp(prefix="youlab-pg-"))
        self.data = self.root / "data"
        self.port = _free_port()
        self.process: subprocess.Popen[bytes] | None = None
        self._as_root = os.geteuid() == 0
        self._shared_db = ""

    def _cmd(self, *args: str) -> list[str]:
        return ["runuser", "-u", "postgres", "--", *args] if self._as_root else list(args)

    def start(self) -> None:
        if self._as_root:
            shutil.chown(self.root, "postgres", "postgres")
        subprocess.run(
            self._cmd(str(self.bin / "initdb"), "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"),
            check=True, capture_output=True,
        )
        log = open(self.root / "server.log", "wb")
        self.process = subprocess.Popen(
            self._cmd(
                str(self.bin / "postgres"), "-D", str(self.data), "-h", "127.0.0.1", "-p", str(self.port),
                "-k", str(self.root), "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
                "-c", "max_connections=200",
            ),
            stdout=log, stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"postgres exited: {(self.root / 'server.log').read_text()[-2000:]}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    pass
                self._psql("SELECT 1")
                return
            except (OSError, subprocess.CalledProcessError):
                time.sleep(0.1)
        raise RuntimeError("postgres did not start within 30 s")

    def _psql(self, sql: str) -> None:
        import psycopg

        with psycopg.connect(f"host=127.0.0.1 port={self.port} user=postgres dbname=postgres", autocommit=True) as conn:
            conn.execute(sql)  # type: ignore[arg-type]

    def url(self, dbname: str) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{dbname}"

    def create_database(self) -> str:
        """A fresh, empty database; returns its SQLAlchemy URL."""
        name = f"t_{uuid.uuid4().hex[:12]}"
        self._psql(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def fresh_url(self) -> str:
        """A URL whose connections see only a fresh, empty schema (much cheaper than a database per test)."""
        if not self._shared_db:
            self._shared_db = self.create_database().rsplit("/", 1)[1]
        schema = f"s_{uuid.uuid4().hex[:12]}"
        import psycopg

        with psycopg.connect(f"host=127.0.0.1 port={self.port} user=postgres dbname={self._shared_db}", autocommit=True) as conn:
            conn.execute(f'CREATE SCHEMA "{schema}"')  # type: ignore[arg-type]
        return f"{self.url(self._shared_db)}?options=-csearch_path%3D{schema}"

    def stop(self) -> None:
        pid_file = self.data / "postmaster.pid"
        if pid_file.exists() and self.process is not None and self.process.poll() is None:
            # SIGINT is PostgreSQL's "fast" shutdown: it does not wait for clients to disconnect.
            os.kill(int(pid_file.read_text().split()[0]), signal.SIGINT)
        if self.process is not None and self.process.poll() is None:
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        shutil.rmtree(self.root, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    server = PostgresServer()
    try:
        server.start()
        yield server
    finally:
        server.stop()
