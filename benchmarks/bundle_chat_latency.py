"""Chat latency through a real Open WebUI 0.12.4 with the bundle on vs off, same run (used by bench_bundle).

One Open WebUI (as the e2e tests start it: the demo model as its OpenAI connection, the bundle installed), one
student, non-streaming /api/chat/completions to the course tutor. Four modes, in alternating blocks so drift hits
all of them: "on" (the YouLab filter active), "off" (no filter at all), "no-op filter" (a global filter that
returns the body unchanged) and "agents paused" (the filter active, the course's tasks paused with `youlab pause`).
Open WebUI itself does extra work for any filter (module and valve lookups, the outlet pass), so "no-op" separates
that from the bundle's own cost. The student here writes a message every ~0.1 s, so the course's after_messages
agent (every 6 messages) runs over and over beside the chat, on the same process and the same demo model; "agents
paused" keeps every step of the chat path (read-only check, counting, memory injection, the trigger check) and
leaves out only those runs, so it is the chat path's own cost. Each comparison is also given paired: the median,
over the rounds, of one mode's block median divided by the other's in the same round (a round is one block of each
mode, about 15 s), which cancels most of the drift that this 2-core VM shows between minutes. The demo model runs
in its own process, as scripts/run starts it (in this process, the agents' questions would queue with the measured
chat's answers behind one interpreter lock).
"""

from __future__ import annotations

import contextlib
import io
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from .table import Row, ms, percentile

NOOP_ID = "bench_noop_filter"
NOOP = '"""\ntitle: No-op filter (benchmark baseline)\n"""\n\n\nclass Filter:\n    async def inlet(self, body):\n        return body\n\n    async def outlet(self, body):\n        return body\n'


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc), a figure the VM's wall-clock jitter does not move."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextlib.contextmanager
def demo_model_process() -> Iterator[str]:
    """`youlab demo-model` on a free port, in its own process; yields its base URL."""
    process = subprocess.Popen([sys.executable, "-m", "youlab_core", "demo-model", "--port", "0"],
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        assert process.stdout is not None
        yield process.stdout.readline().strip()
    finally:
        process.terminate()
        process.wait(timeout=10)


def end_to_end_rows(messages_per_block: int = 30, blocks: int = 12) -> list[Row]:
    from tests.support.openwebui_stack import running_openwebui
    from youlab_core.openwebui import SyncOpenWebUIClient

    from youlab_core.cli import main as youlab
    from youlab_core.config import CourseRegistry
    from youlab_core.state import open_store

    modes = ("on", "off", "noop", "paused")
    samples: dict[str, list[float]] = {m: [] for m in modes}
    rounds: list[dict[str, float]] = []  # per round, each mode's block median
    cpu: dict[str, float] = {m: 0.0 for m in modes}  # Open WebUI's CPU seconds spent in each mode's blocks
    with tempfile.TemporaryDirectory() as tmp, demo_model_process() as demo_url, \
            running_openwebui(Path(tmp), demo_url=demo_url) as ow:
        _, token = ow.make_student("Bench")
        ow.api.models.available(refresh=True)  # Open WebUI caches its model list until a refresh
        if ow.api.functions.get(NOOP_ID) is None:
            ow.api.functions.create(NOOP_ID, "No-op filter", NOOP, "benchmark baseline")
        ow.api.functions.set_global(NOOP_ID, True)

        registry = CourseRegistry(ow.config_dir)
        registry.reload()
        tasks = [t.name for _, t in registry.tasks()]
        where = ["--storage-root", str(ow.storage_root), "--config-dir", str(ow.config_dir)]

        def use(mode: str) -> None:
            ow.api.functions.set_active("youlab_filter", mode in ("on", "paused"))
            ow.api.functions.set_active(NOOP_ID, mode == "noop")
            with contextlib.redirect_stdout(io.StringIO()):  # the commands' confirmations are not the table
                for name in tasks:
                    youlab(["pause" if mode == "paused" else "resume", name, "--by", "bench", *where])

        state = open_store(url=f"sqlite:///{ow.storage_root / 'state.db'}", migrate_schema=False)
        with SyncOpenWebUIClient(ow.url, token=token, timeout=60.0) as student:
            body = {"model": ow.tutor_model, "messages": [{"role": "user", "content": "How do I start my essay?"}]}
            try:
                for mode in modes:  # warm up every path
                    use(mode)
                    for _ in range(5):
                        student.chat_completion(body)
                runs_before = len(state.list_runs(limit=1_000_000))
                for block in range(blocks):
                    rounds.append({})
                    for mode in modes[block % len(modes):] + modes[: block % len(modes)]:
                        use(mode)
                        taken = []
                        cpu_before = cpu_seconds(ow.process.popen.pid)
                        for i in range(messages_per_block):
                            start = time.perf_counter()
                            student.chat_completion({**body, "messages": [{"role": "user", "content": f"Question {i}?"}]})
                            taken.append(time.perf_counter() - start)
                        cpu[mode] += cpu_seconds(ow.process.popen.pid) - cpu_before
                        samples[mode].extend(taken)
                        rounds[-1][mode] = statistics.median(taken)
                runs = len(state.list_runs(limit=1_000_000)) - runs_before  # only "on" runs agents
            finally:
                use("on")
                state.close()
    on, off, noop, paused = samples["on"], samples["off"], samples["noop"], samples["paused"]

    def fig(s: list[float]) -> str:
        return f"median {ms(statistics.median(s))}, p99 {ms(percentile(s, 99))}"

    def cpu_ms(mode: str) -> float:
        return cpu[mode] / len(samples[mode]) * 1000

    def paired(mode: str, base: str) -> str:
        return f"{statistics.median(r[mode] / r[base] for r in rounds) - 1:+.1%}"

    per_run = (cpu["on"] - cpu["paused"] / len(paused) * len(on)) / runs * 1000 if runs else 0.0
    vs_off = statistics.median(on) / statistics.median(off) - 1
    vs_noop = statistics.median(on) / statistics.median(noop) - 1
    path_vs_noop = statistics.median(paused) / statistics.median(noop) - 1
    return [
        Row("bundle", "chat completion through Open WebUI, bundle on", fig(on), f"no filter: {fig(off)}",
            f"{len(on)} requests each, demo model; on vs off {vs_off:+.1%} (paired {paired('on', 'off')}), vs no-op "
            f"filter {vs_noop:+.1%} (paired {paired('on', 'noop')}); includes the agent runs the chat triggers every "
            "6 messages"),
        Row("bundle", "same, the course's agents paused (the chat path alone)", fig(paused),
            f"no-op filter: {fig(noop)}",
            f"vs no-op filter {path_vs_noop:+.1%}, paired {paired('paused', 'noop')} (target: at most +5%); Open "
            f"WebUI's own cost of any filter: no-op vs off {statistics.median(noop) / statistics.median(off) - 1:+.1%}"
            f" (paired {paired('noop', 'off')})"),
        Row("bundle", "Open WebUI's CPU time per chat request, agents paused",
            f"{cpu_ms('paused'):.1f} ms", f"no-op filter: {cpu_ms('noop'):.1f} ms; no filter: {cpu_ms('off'):.1f} ms",
            f"{cpu_ms('paused') / cpu_ms('noop') - 1:+.1%} vs no-op filter (the server's own work, which wall-clock jitter "
            f"does not move); bundle on with its agent runs: {cpu_ms('on'):.1f} ms"),
        Row("bundle", "Open WebUI's CPU time per agent run", f"{per_run:.1f} ms" if runs else "no run",
            "", f"{runs} runs in {len(on)} messages with the bundle on: its CPU beyond the same messages with the "
            "agents paused, per run (they write their thread; the bench student's API chats are not stored, so "
            "the runs ask no question)"),
    ]
