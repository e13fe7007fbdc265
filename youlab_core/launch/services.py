"""The local PostgreSQL and Redis that `scripts/run --replicas N` (and the replica tests) start for their replicas.

Both run from the Debian packages (`postgresql`, `redis-server`), keep their data under the data directory, listen
on 127.0.0.1 only and require a password generated on the first start (kept in the data directory, mode 600):
other users of the machine can reach a loopback port too. Started as root, each runs as its package's own
unprivileged user (`postgres`, `redis`) through `runuser`; PostgreSQL refuses to run as root anyway.
"""

from __future__ import annotations

import glob
import os
import pwd
import secrets
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from .datadir import _write_private
from .processes import LaunchError, ManagedProcess, log_tail

HOST = "127.0.0.1"


def postgres_bin_dir() -> Path | None:
    """The newest installed PostgreSQL's bin directory (Debian keeps it out of PATH), or None."""
    explicit = os.environ.get("YOULAB_PG_BIN")
    if explicit:
        return Path(explicit)
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/postgres"), key=lambda p: int(p.split("/")[4]))
    return Path(found[-1]).parent if found else None


def redis_server_binary() -> str | None:
    return shutil.which("redis-server")


def _as_root() -> bool:
    return os.geteuid() == 0


def _own(path: Path, user: str) -> None:
    """Give `path` (recursively) to the service's user when we run as root (the service runs as that user), and
    check that user can reach it (a private folder on the way, such as /root, would stop the service)."""
    if not _as_root():
        return
    uid = pwd.getpwnam(user).pw_uid
    if path.stat().st_uid != uid:  # once: after that, everything inside is the service's own
        for root, dirs, files in os.walk(path):
            shutil.chown(root, user, user)
            for name in dirs + files:
                shutil.chown(os.path.join(root, name), user, user)
    reachable = subprocess.run(["runuser", "-u", user, "--", "test", "-w", str(path)], check=False)
    if reachable.returncode != 0:
        raise LaunchError(f"{path} is not reachable for the user {user}, who runs the service: a folder on its path "
                          "is private (e.g. /root); use a data directory elsewhere (--data-dir)")


def _secret(path: Path) -> str:
    if path.is_file():
        value = path.read_text(encoding="utf-8").strip()
        if value:
            return value
    value = secrets.token_urlsafe(24)
    _write_private(path, value + "\n")
    return value


def _wait_port(process: ManagedProcess, port: int, timeout: float) -> None:
    import socket

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not process.alive():
            raise LaunchError(f"{process.name} exited with status {process.popen.returncode} before listening on "
                              f"{HOST}:{port}.\nLast lines of {process.log_path}:\n{log_tail(process.log_path)}")
        try:
            with socket.create_connection((HOST, port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise LaunchError(f"{process.name} did not listen on {HOST}:{port} within {timeout:.0f} s.\n"
                      f"Last lines of {process.log_path}:\n{log_tail(process.log_path)}")


@dataclass
class LocalPostgres:
    """One PostgreSQL server: cluster in `root/data`, password in `root/password`, log in `log_path`."""

    root: Path
    port: int
    log_path: Path
    durable: bool = True  # False (tests): no fsync, the data is thrown away
    process: ManagedProcess | None = None
    user: str = "postgres"

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def password(self) -> str:
        return _secret(self.root.parent / f".{self.root.name}-password")

    def url(self, database: str, driver: str = "postgresql+psycopg") -> str:
        return f"{driver}://{self.user}:{self.password}@{HOST}:{self.port}/{database}"

    def _cmd(self, *args: str) -> list[str]:
        return ["runuser", "-u", "postgres", "--", *args] if _as_root() else list(args)

    def _initdb(self, bin_dir: Path) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        pwfile = self.root / "initdb-password"
        pwfile.write_text(self.password + "\n", encoding="utf-8")
        os.chmod(pwfile, 0o600)
        _own(self.root, "postgres")
        try:
            done = subprocess.run(
                self._cmd(str(bin_dir / "initdb"), "-D", str(self.data), "-U", self.user, "--auth=scram-sha-256",
                          f"--pwfile={pwfile}", "-E", "UTF8", "--locale=C.UTF-8"),
                capture_output=True, text=True, check=False,
            )
        finally:
            pwfile.unlink(missing_ok=True)
        if done.returncode != 0:
            raise LaunchError(f"initdb of {self.data} failed: {(done.stderr or done.stdout).strip()[-2000:]}")

    def start(self, timeout: float = 60.0) -> None:
        bin_dir = postgres_bin_dir()
        if bin_dir is None:
            raise LaunchError("PostgreSQL is not installed (Debian package `postgresql`; scripts/run installs it)")
        if not (self.data / "PG_VERSION").is_file():
            self._initdb(bin_dir)
        _own(self.root, "postgres")
        settings = ["-c", "listen_addresses=" + HOST, "-c", f"unix_socket_directories={self.root}",
                    "-c", "max_connections=300"]
        if not self.durable:
            settings += ["-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off"]
        command = self._cmd(str(bin_dir / "postgres"), "-D", str(self.data), "-p", str(self.port), *settings)
        # SIGINT is PostgreSQL's fast shutdown (SIGTERM would wait for every client to disconnect).
        self.process = ManagedProcess.start("PostgreSQL", command, env=dict(os.environ), log_path=self.log_path,
                                            stop_signal=signal.SIGINT)
        _wait_port(self.process, self.port, timeout)
        self._wait_ready(timeout)

    def _wait_ready(self, timeout: float) -> None:
        import psycopg

        deadline = time.monotonic() + timeout
        while True:
            try:
                with psycopg.connect(self.url("postgres", "postgresql"), connect_timeout=2):
                    return
            except psycopg.OperationalError as exc:
                # "the database system is starting up" while it replays its log
                if time.monotonic() > deadline:
                    raise LaunchError(f"PostgreSQL on {HOST}:{self.port} did not accept connections: {exc}") from None
                time.sleep(0.2)

    def ensure_database(self, name: str) -> str:
        """Create the database `name` if missing; its SQLAlchemy URL (psycopg 3)."""
        import psycopg

        with psycopg.connect(self.url("postgres", "postgresql"), autocommit=True) as conn:
            if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone() is None:
                conn.execute(f'CREATE DATABASE "{name}"')  # a name we chose, not input
        return self.url(name)

    def stop(self) -> None:
        if self.process is not None:
            self.process.stop(grace=30.0)
            self.process = None


@dataclass
class LocalRedis:
    """One Redis server for Open WebUI's websockets and shared state: data in `root`, nothing saved to disk
    (what Open WebUI keeps there is rebuilt by its clients), password in `root`'s sibling file."""

    root: Path
    port: int
    log_path: Path
    process: ManagedProcess | None = None

    @property
    def password(self) -> str:
        return _secret(self.root.parent / f".{self.root.name}-password")

    @property
    def url(self) -> str:
        return f"redis://:{self.password}@{HOST}:{self.port}/0"

    def start(self, timeout: float = 30.0) -> None:
        binary = redis_server_binary()
        if binary is None:
            raise LaunchError("Redis is not installed (Debian package `redis-server`; scripts/run installs it)")
        self.root.mkdir(parents=True, exist_ok=True)
        conf = self.root / "redis.conf"
        # The password goes in a file (mode 600) rather than on the command line, where `ps` shows it.
        _write_private(conf, "\n".join([
            f"bind {HOST}", f"port {self.port}", "protected-mode yes", f"dir {self.root}", 'save ""',
            "appendonly no", "daemonize no", f"requirepass {self.password}", "",
        ]))
        command = [binary, str(conf)]
        if _as_root():
            _own(self.root, "redis")
            command = ["runuser", "-u", "redis", "--", *command]
        self.process = ManagedProcess.start("Redis", command, env=dict(os.environ), log_path=self.log_path)
        _wait_port(self.process, self.port, timeout)

    def stop(self) -> None:
        if self.process is not None:
            self.process.stop(grace=15.0)
            self.process = None
