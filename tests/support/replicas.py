"""Several real Open WebUI 0.12.4 replicas on PostgreSQL and Redis, started the way `scripts/run --replicas N` starts
them (youlab_core.launch: services, replica environment, the first replica alone, then the others), and the
students' side of the replica tests (a student, a chat message on a chosen replica, a chatter that must never fail,
the runs and threads to count), for tests/e2e/test_replicas_e2e.py (two replicas) and test_replicas_three_e2e.py.

Differences from scripts/run, each for the test: YouLab's state store is on a PostgreSQL server of its own, so the
test can stop it while Open WebUI's database stays up (stopping the one scripts/run shares would stop Open WebUI
too); the servers skip fsync; the scheduler ticks every second with a short lease (environment variables, as an
operator would set them); the demo model runs in this process and can hold one student's agent runs.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import shutil
import tempfile
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.support.e2e_chats import TUTOR, student_chat
from tests.support.waiting import eventually_sync as eventually

from youlab_core.demo_model import DemoModelServer
from youlab_core.install import InstallOptions
from youlab_core.launch import (
    AdminLogin,
    ManagedProcess,
    apply_patch,
    default_valves,
    demo_provider,
    free_port,
    log_tail,
    openwebui_env,
    prepare,
    wait_until_healthy,
)
from youlab_core.launch.replicas import SharedServices, replica_env, start_replicas
from youlab_core.launch.services import LocalPostgres, LocalRedis
from youlab_core.launch.stack import start_openwebui
from youlab_core.openwebui import SyncOpenWebUIClient
from youlab_core.state import SqlStateStore, open_store

CHECKOUT = Path(__file__).resolve().parents[2]
HOST = "127.0.0.1"
DIALECTIC = "YOULAB-TASK: dialectic"


class HoldingDemoModel(DemoModelServer):
    """The demo model, which can hold the agents' questions about one student (found by a word only that student
    wrote) for a while: a run of that student is then "in the middle" long enough to kill its replica."""

    def __init__(self) -> None:
        super().__init__(HOST, 0)
        self.holds: dict[str, float] = {}
        self.held = threading.Event()  # set when a held question arrived

    def _chat(self, request):  # type: ignore[no-untyped-def]  # JSONServer's untyped handler signature
        text = request.body.decode("utf-8", "replace") if isinstance(request.body, bytes) else str(request.body)
        for word, seconds in list(self.holds.items()):
            if DIALECTIC in text and word in text:
                self.held.set()
                time.sleep(seconds)
        return super()._chat(request)


@dataclass
class Replica:
    index: int
    port: int
    env: dict[str, str]
    data_dir: Path
    log_path: Path
    timeout: float
    process: ManagedProcess | None = None

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def start(self, wait: bool = True) -> None:
        self.process = start_openwebui(env=self.env, host=HOST, port=self.port, data_dir=self.data_dir,
                                       log_path=self.log_path)
        self.process.name = f"Open WebUI replica {self.index}"
        if wait:
            self.wait()

    def wait(self) -> None:
        assert self.process is not None
        wait_until_healthy(self.url, self.process, timeout=self.timeout)

    def stop(self) -> None:
        """SIGTERM, as an operator's restart or a rolling deployment stops it."""
        if self.process is not None:
            self.process.stop()

    def kill(self) -> None:
        """SIGKILL to the whole process group at once (a crash, the OOM killer)."""
        if self.process is not None:
            self.process.kill()

    def pids(self) -> set[int]:
        import psutil

        if self.process is None or not self.process.alive():
            return set()
        root = psutil.Process(self.process.pid)
        return {root.pid} | {p.pid for p in root.children(recursive=True)}

    def log_tail(self, lines: int = 80) -> str:
        return log_tail(self.log_path, lines)


@dataclass
class ReplicaSet:
    replicas: list[Replica]
    admin: AdminLogin
    admin_token: str
    demo: HoldingDemoModel
    state_db: LocalPostgres
    state_url: str
    storage_root: Path
    config_dir: Path
    _store: SqlStateStore | None = field(default=None, repr=False)

    def api(self, index: int, token: str | None = None) -> SyncOpenWebUIClient:
        return SyncOpenWebUIClient(self.replicas[index].url, token=token or self.admin_token, timeout=120.0)

    def make_student(self, name: str) -> tuple[dict, str]:
        email = f"{name.lower()}.{secrets.token_hex(3)}@example.org"
        with self.api(0) as api:
            created = api.users.add(name, email, secrets.token_urlsafe(12), "user")
        return created, created["token"]

    def store(self) -> SqlStateStore:
        """The state store the replicas share (opened once, in this process)."""
        if self._store is None:
            self._store = open_store(url=self.state_url)
        return self._store

    def stop_state_db(self) -> None:
        if self._store is not None:
            self._store.close()
            self._store = None
        self.state_db.stop()

    def start_state_db(self) -> None:
        self.state_db.start()

    def logs(self) -> str:
        return "\n".join(f"--- replica {r.index} ({r.log_path}):\n{r.log_tail(60)}" for r in self.replicas)


@contextmanager
def running_replicas(count: int, *, courses: Mapping[str, Path] | None = None, environ: Mapping[str, str] | None = None,
                     start_timeout: float | None = None) -> Iterator[ReplicaSet]:
    """`count` replicas on fresh PostgreSQL servers and Redis; `courses` (name -> folder) are added to a copy of
    config/; `environ` reaches every replica (e.g. YOULAB_CLAIM_LEASE_SECONDS)."""
    timeout = start_timeout or float(os.environ.get("YOULAB_E2E_START_TIMEOUT", "400"))
    # Not under pytest's tmp_path: its folders are private to root, and PostgreSQL and Redis run as their own users.
    root = Path(tempfile.mkdtemp(prefix="youlab-replicas-"))
    os.chmod(root, 0o755)
    data_dir = root / "data"
    (data_dir / "logs").mkdir(parents=True)
    config_dir = root / "config"
    shutil.copytree(CHECKOUT / "config", config_dir)
    for name, folder in (courses or {}).items():
        shutil.copytree(folder, config_dir / "courses" / name)
    admin = AdminLogin("admin@localhost", secrets.token_urlsafe(12), "E2E Admin", generated=True)
    demo = HoldingDemoModel().start()
    logs = data_dir / "logs"
    webui_db = LocalPostgres(data_dir / "postgresql", free_port(HOST), logs / "postgresql.log", durable=False)
    state_db = LocalPostgres(data_dir / "postgresql-state", free_port(HOST), logs / "postgresql-state.log",
                             durable=False)
    redis = LocalRedis(data_dir / "redis", free_port(HOST), logs / "redis.log")
    replicas: list[Replica] = []
    started: list[ManagedProcess] = []
    the_set: ReplicaSet | None = None
    try:
        warning = apply_patch()
        if warning:
            print(f"warning: {warning}")
        webui_db.start()
        state_db.start()
        redis.start()
        services = SharedServices(webui_db.ensure_database("openwebui"), state_db.ensure_database("youlab"), redis.url)
        provider = demo_provider(demo.base_url)
        base = {k: v for k, v in os.environ.items() if not k.startswith("YOULAB_VALVE_")}
        base.update(environ or {})
        env = openwebui_env(base, data_dir=data_dir, secret_key=secrets.token_urlsafe(32), admin=admin,
                            provider=provider, config_dir=config_dir)
        ports = [free_port(HOST) for _ in range(count)]
        for i, port in enumerate(ports, start=1):
            own_env = replica_env(env, services, static_dir=data_dir / "replicas" / str(i) / "static")
            replicas.append(Replica(i, port, own_env, data_dir, logs / f"open-webui-{i}.log", timeout))

        def remember(index: int, process: ManagedProcess) -> None:
            replicas[index - 1].process = process

        start_replicas(ports, lambda i: replicas[i - 1].env, data_dir=data_dir,
                       log_for=lambda i: replicas[i - 1].log_path, timeout=timeout, started=started, on_start=remember)
        options = InstallOptions(config_dir=config_dir, valves=default_valves(config_dir, data_dir / "youlab"))
        prepared = asyncio.run(prepare(replicas[0].url, admin, provider, options, {}))
        the_set = ReplicaSet(replicas, admin, prepared.token, demo, state_db, services.state_url, data_dir / "youlab",
                             config_dir)
        for i in range(count):  # each process keeps its own model list until it is refreshed
            with the_set.api(i) as api:
                api.models.available(refresh=True)
        yield the_set
    finally:
        if the_set is not None and the_set._store is not None:
            the_set._store.close()
        for replica in replicas:
            replica.stop()
        for process in started:
            process.stop()
        redis.stop()
        state_db.stop()
        webui_db.stop()
        demo.stop()
        if os.environ.get("YOULAB_E2E_KEEP") != "1":
            shutil.rmtree(root, ignore_errors=True)
        else:
            print(f"replica data kept in {root}: {json.dumps([str(r.log_path) for r in replicas])}")


@dataclass
class Student:
    user: dict[str, Any]
    token: str
    sent: int = 0  # messages answered (each one counted by whichever replica answered it)

    @property
    def id(self) -> str:
        return str(self.user["id"])


def new_student(rs: ReplicaSet, name: str, facts: list[str]) -> Student:
    """A student with a saved course chat holding `facts` (what the agents find), made on replica 1."""
    user, token = rs.make_student(name)
    with rs.api(0, token) as api:
        api.chats.new(student_chat(facts))
    return Student(user, token)


def say(rs: ReplicaSet, student: Student, replica: int, text: str) -> str:
    """One message of `student` to the e2e tutor on replica number `replica` (0-based); the reply's text."""
    with SyncOpenWebUIClient(rs.replicas[replica].url, token=student.token, timeout=120.0) as api:
        reply = api.chat_completion({"model": TUTOR, "messages": [{"role": "user", "content": text}]})
    student.sent += 1
    return str(reply["choices"][0]["message"]["content"])


@dataclass
class Chatter:
    """A student writing every `every` seconds on the given replicas in turn; every reply must come (the test
    reads `failures`)."""

    rs: ReplicaSet
    student: Student
    replicas: list[int]
    every: float = 1.5
    failures: list[str] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def __enter__(self) -> Chatter:
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        n = 0
        while not self._stop.is_set():
            replica = self.replicas[n % len(self.replicas)]
            n += 1
            try:
                assert say(self.rs, self.student, replica, f"Still drafting, note {n}.")
            except Exception as exc:  # the test reads these: a student's chat must never fail
                self.failures.append(f"replica {replica + 1}: {type(exc).__name__}: {exc}")
            self._stop.wait(self.every)

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        assert self._thread is not None
        self._thread.join(timeout=150)


def runs_of(rs: ReplicaSet, student: Student, task: str | None = None) -> list[Any]:
    return rs.store().list_runs(user_id=student.id, task=task, limit=10_000)


def folder_chats(rs: ReplicaSet, student: Student, replica: int = 1) -> dict[str, list[dict[str, Any]]]:
    """Per agent task: the chats in the student's agent folder, as the sidebar of replica `replica` lists them."""
    found: dict[str, list[dict[str, Any]]] = {}
    with rs.api(replica, student.token) as api:
        for folder in api.folders.list():
            full = api.folders.get(folder["id"]) or {}
            task = (full.get("meta") or {}).get("agentId")
            if task:
                found.setdefault(task, []).extend(api.chats.list_by_folder(folder["id"]))
    return found


def succeeded(rs: ReplicaSet, student: Student, task: str, count: int, timeout: float) -> list[Any]:
    """Wait for `count` succeeded `task` runs of `student`; they are returned (the logs on failure)."""
    def done() -> list[Any] | None:
        runs = [r for r in runs_of(rs, student, task) if r.status == "succeeded"]
        return runs if len(runs) >= count else None

    try:
        return eventually(done, timeout, f"{count} succeeded {task} run(s) of {student.user['name']}")
    except AssertionError as exc:
        raise AssertionError(f"{exc}\nruns: {runs_of(rs, student)}\n{rs.logs()}") from None


def diffs_of(rs: ReplicaSet, student: Student) -> dict[str, dict[str, Any]]:
    """The student's pending changes, as stored (id -> the change)."""
    folder = rs.storage_root / "users" / student.id / "pending_diffs"
    return {p.stem: json.loads(p.read_text()) for p in folder.glob("*.json")} if folder.exists() else {}
