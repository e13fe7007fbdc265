"""The global filter per message, in-process: inlet + outlet next to a no-op filter (target p99 < 1 ms); and chat
latency through a real Open WebUI with the bundle on vs off (same run, the demo model; skipped with --quick).

In-process means: the plugin file loaded as Open WebUI loads it, the real SQLite state store and course registry,
chats/folders in memory (Open WebUI's own chat lookup is part of the end-to-end figure, not this one), memory
injection on (the student has approved blocks), a background scheduler running.
"""

from __future__ import annotations

import asyncio
import importlib.util
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from .table import Row, ms, percentile

REPO = Path(__file__).resolve().parents[1]
GAP_SECONDS = 0.002


def _plugin():
    spec = importlib.util.spec_from_file_location("bench_youlab_filter", REPO / "plugins" / "youlab_filter.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


class _IdleRunner:
    async def handler(self, work) -> None:  # due work is claimed, then finishes at once
        return None


class _NoopFilter:
    async def inlet(self, body, __user__=None, __metadata__=None, __model__=None):
        return body

    async def outlet(self, body, __user__=None, __metadata__=None, __model__=None):
        return body


async def _measure(flt, n: int, chat_ids: list[str]) -> list[float]:
    model = {"id": "college-essay-tutor"}
    samples = []
    for i in range(n):
        user = {"id": f"stu-{i % 50}", "role": "user"}
        meta = {"user_id": user["id"], "chat_id": chat_ids[i % len(chat_ids)], "message_id": f"m{i}", "session_id": "s"}
        body = {"model": "college-essay-tutor", "messages": [{"role": "system", "content": "Be kind."}, {"role": "user", "content": f"message {i}"}]}
        start = time.perf_counter()
        body = await flt.inlet(body, __user__=user, __metadata__=meta, __model__=model)
        body["messages"].append({"role": "assistant", "content": "ok"})
        await flt.outlet(body, __user__=user, __metadata__=meta, __model__=model)
        samples.append(time.perf_counter() - start)
        # A chat turn is not instant: the model answers between inlet and the next message. 2 ms apart is
        # ~500 messages/s in one worker process, far above a classroom's load, and lets the activity worker run.
        await asyncio.sleep(GAP_SECONDS)
    return samples


async def _in_process(quick: bool) -> list[Row]:
    from youlab_core.bundle import Given, bundle_for, process, settings_from_values
    from youlab_core.threads import MemoryChats

    n = 300 if quick else 3000
    with tempfile.TemporaryDirectory() as tmp:
        shutil.copytree(REPO / "config" / "courses", Path(tmp) / "config" / "courses")
        plugin = _plugin()
        flt = plugin.Filter()
        valves = plugin.Filter.Valves(config_dir=str(Path(tmp) / "config"), storage_root=str(Path(tmp) / "youlab"))
        bundle = bundle_for(settings_from_values(valves), backend=MemoryChats(), given=Given(handler=_IdleRunner().handler))
        await bundle.start()  # the filter uses the process's active bundle (as the first message does in Open WebUI)
        course = bundle.courses.course("college-essay")
        for u in range(50):
            bundle.memory.student(f"stu-{u}").write_field(course, "student", "profile", f"Student {u} likes chess.", author="bench")
        chats = [
            (await bundle.backend.create_chat(f"stu-{u}", {"models": ["college-essay-tutor"], "history": {"messages": {}}}, folder_id=None, meta={})).id
            for u in range(50)
        ]
        await _measure(flt, 50, chats)  # warm up: scheduler start, first reads
        bundle_samples = await _measure(flt, n, chats)
        await bundle_for(settings_from_values(valves.model_copy(update={"inject_memory": False})), backend=MemoryChats(),
                         given=Given(handler=_IdleRunner().handler)).start()  # what the watcher does on a valve change
        await _measure(flt, 50, chats)
        no_inject = await _measure(flt, n, chats)
        noop = await _measure(_NoopFilter(), n, chats)
        await process.deactivate(grace_seconds=1)
    note = f"{n} messages 2 ms apart, 50 students; target p99 < 1 ms"
    return [
        Row("bundle", "filter inlet+outlet, memory injection on",
            f"median {ms(statistics.median(bundle_samples))}, p99 {ms(percentile(bundle_samples, 99))}",
            f"no-op filter: median {ms(statistics.median(noop))}, p99 {ms(percentile(noop, 99))}", note),
        Row("bundle", "filter inlet+outlet, memory injection off",
            f"median {ms(statistics.median(no_inject))}, p99 {ms(percentile(no_inject, 99))}", "", note),
    ]


def run(quick: bool) -> list[Row]:
    rows = asyncio.run(_in_process(quick))
    if quick:
        rows.append(Row("bundle", "chat latency through Open WebUI, bundle on vs off", "skipped",
                        "", "--quick: starting Open WebUI takes ~1 min; run without --quick"))
    else:
        from .bundle_chat_latency import end_to_end_rows

        rows.extend(end_to_end_rows())
    return rows
