"""The real `scripts/run`, as the README and docs/operate.md tell a user to start it: once with one Open WebUI (the
ready line, a login that works) and once with `--replicas 2` (two ready lines, one login for both, a student's chat
made on one replica read through the other, YouLab's state on the PostgreSQL it started); Ctrl-C stops everything
each started and frees its ports."""

from __future__ import annotations

import json
import os
import queue
import secrets
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import psutil

from tests.support.waiting import eventually_sync as eventually
from youlab_core.launch import free_port, port_is_free
from youlab_core.openwebui import SyncOpenWebUIClient
from youlab_core.state import open_store

CHECKOUT = Path(__file__).resolve().parents[2]
READY = "Open WebUI is ready at "
DROP = ("OPENAI_", "OLLAMA_", "YOULAB_ADMIN_", "YOULAB_VALVE_", "YOULAB_DATA_DIR", "YOULAB_PORT", "YOULAB_CONFIG_DIR",
        "YOULAB_REPLICAS", "YOULAB_STATE_URL", "DATABASE_URL", "REDIS_URL", "WEBSOCKET_")
START_TIMEOUT = float(os.environ.get("YOULAB_E2E_START_TIMEOUT", "400"))


def _gone(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def free_consecutive_ports(count: int) -> int:
    """The first of `count` consecutive free ports (scripts/run --replicas N takes N from --port on)."""
    for _ in range(100):
        first = free_port()
        if first + count <= 65535 and all(port_is_free(first + i) for i in range(count)):
            return first
    raise AssertionError(f"no {count} consecutive free ports found")


@dataclass
class Launched:
    """scripts/run as a child in its own session, its output read line by line."""

    process: subprocess.Popen[str]
    output: list[str] = field(default_factory=list)
    lines: queue.Queue[str] = field(default_factory=queue.Queue)
    descendants: list[psutil.Process] = field(default_factory=list)

    def read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.output.append(line)
            self.lines.put(line)

    def text(self) -> str:
        return "".join(self.output)

    def ready(self, count: int) -> tuple[list[str], str, str]:
        """Wait for `count` ready lines and the login after them: (urls, email, password)."""
        started = time.monotonic()
        urls: list[str] = []
        while len(urls) < count:
            assert self.process.poll() is None, "scripts/run exited early:\n" + self.text()
            assert time.monotonic() < started + START_TIMEOUT, "no ready line in time:\n" + self.text()
            try:
                line = self.lines.get(timeout=1)
            except queue.Empty:
                continue
            if line.startswith(READY):
                urls.append(line[len(READY):].strip())
        email = self.lines.get(timeout=10).split(":", 1)[1].strip()
        password = self.lines.get(timeout=10).split(":", 1)[1].split()[0]
        print(f"scripts/run was ready after {time.monotonic() - started:.0f} s")
        self.descendants = psutil.Process(self.process.pid).children(recursive=True)
        return urls, email, password

    def ctrl_c(self, ports: list[int]) -> None:
        """SIGINT, as Ctrl-C in the terminal: it exits 0, every process it started is gone, `ports` are free."""
        self.process.send_signal(signal.SIGINT)
        assert self.process.wait(timeout=90) == 0, self.text()
        time.sleep(0.5)
        left = [p.pid for p in self.descendants if not _gone(p.pid)]
        assert left == [], f"still running after Ctrl-C: {left}\n{self.text()}"
        assert [p for p in ports if not port_is_free(p)] == [], "ports still in use after Ctrl-C"
        assert "==> stopped" in self.text()


@contextmanager
def scripts_run(args: list[str], cwd: Path) -> Iterator[Launched]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(DROP)}
    process = subprocess.Popen([str(CHECKOUT / "scripts" / "run"), *args], cwd=cwd, env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True, start_new_session=True)
    launched = Launched(process)
    threading.Thread(target=launched.read, daemon=True).start()
    try:
        yield launched
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
        for child in launched.descendants:
            if not _gone(child.pid):
                child.kill()


def command_lines(processes: list[psutil.Process]) -> str:
    return " ".join(" ".join(p.cmdline()) for p in processes if not _gone(p.pid))


def test_scripts_run_starts_prints_a_working_login_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    port = free_port()
    with scripts_run(["--port", str(port), "--data-dir", str(tmp_path / "data")], tmp_path) as launched:
        urls, email, password = launched.ready(1)
        assert urls == [f"http://127.0.0.1:{port}"]
        with SyncOpenWebUIClient(urls[0]) as client:
            user = client.sign_in(email, password)
            assert user["role"] == "admin"
            ids = {m["id"] for m in client.models.available()}
            assert {"college-essay-tutor", "youlab-demo"} <= ids
        assert ((tmp_path / "data" / "youlab-admin.json").stat().st_mode & 0o777) == 0o600
        names = command_lines(launched.descendants)
        assert "open-webui serve" in names and "demo-model" in names
        assert "postgres" not in names and "redis" not in names  # one replica: SQLite, nothing else
        launched.ctrl_c([port])


def test_scripts_run_with_two_replicas_shares_one_database_and_stops_everything_on_ctrl_c() -> None:
    port = free_consecutive_ports(2)
    # Not under pytest's tmp_path: its folders are private to root, and PostgreSQL and Redis run as their own users.
    root = Path(tempfile.mkdtemp(prefix="youlab-run-replicas-"))
    os.chmod(root, 0o755)
    data = root / "data"
    try:
        with scripts_run(["--replicas", "2", "--port", str(port), "--data-dir", str(data)], root) as launched:
            urls, email, password = launched.ready(2)
            assert urls == [f"http://127.0.0.1:{port}", f"http://127.0.0.1:{port + 1}"]
            names = command_lines(launched.descendants)
            assert names.count("open-webui serve") == 2, names
            assert "postgres" in names and "redis-server" in names and "demo-model" in names
            launch_state = json.loads((data / "youlab-launch.json").read_text())
            services = [launch_state["postgres_port"], launch_state["redis_port"], launch_state["demo_port"]]

            for url in urls:  # one admin, in the database both replicas share
                with SyncOpenWebUIClient(url) as client:
                    assert client.sign_in(email, password)["role"] == "admin"
            student_password = secrets.token_urlsafe(12)
            student_email = f"sam.{secrets.token_hex(3)}@example.org"
            with SyncOpenWebUIClient(urls[0]) as admin:
                admin.sign_in(email, password)
                student = admin.users.add("Sam", student_email, student_password, "user")
            text = "My essay is about my grandmother's bakery."
            with SyncOpenWebUIClient(urls[0], token=student["token"], timeout=120.0) as api:
                reply = api.chat_completion({"model": "college-essay-tutor",
                                             "messages": [{"role": "user", "content": text}]})
                answer = str(reply["choices"][0]["message"]["content"])
                assert answer
                chat_id = api.chats.new(saved_chat(text, answer))["id"]  # what the page saves after the reply
            with SyncOpenWebUIClient(urls[1], timeout=120.0) as other:
                assert other.sign_in(student_email, student_password)["id"] == student["id"]
                assert chat_id in {c["id"] for c in other.chats.list()}
                chat = other.chats.get(chat_id)
                assert chat is not None
                assert [m["content"] for m in chat["chat"]["messages"]] == [text, answer]
                other.chat_completion({"model": "college-essay-tutor",
                                       "messages": [{"role": "user", "content": "And my second paragraph."}]})
            # YouLab's state is on the PostgreSQL scripts/run started: both replicas counted their message there.
            secret = (data / ".postgresql-password").read_text().strip()
            store = open_store(url=f"postgresql+psycopg://postgres:{secret}@127.0.0.1:{services[0]}/youlab")
            try:
                def counted() -> bool:
                    activity = store.activity(student["id"], "college-essay")
                    return activity is not None and activity.message_count == 2

                eventually(counted, 30, "both messages counted in the shared state database")
            finally:
                store.close()

            launched.ctrl_c([port, port + 1, *services])
    finally:
        shutil.rmtree(root, ignore_errors=True)


def saved_chat(text: str, answer: str) -> dict[str, object]:
    """A chat of one exchange in the tutor model, as Open WebUI's page saves it."""
    now = int(time.time())
    user = {"id": "u1", "parentId": None, "childrenIds": ["a1"], "role": "user", "content": text, "timestamp": now}
    reply = {"id": "a1", "parentId": "u1", "childrenIds": [], "role": "assistant", "content": answer,
             "model": "college-essay-tutor", "done": True, "timestamp": now}
    return {"title": "My essay", "models": ["college-essay-tutor"], "timestamp": now * 1000,
            "history": {"currentId": "a1", "messages": {"u1": user, "a1": reply}}, "messages": [user, reply]}
