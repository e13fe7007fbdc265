"""Chat latency through a real Open WebUI 0.12.4 with the bundle on vs off, same run (used by bench_bundle).

One Open WebUI (as the e2e tests start it: the demo model as its OpenAI connection, the bundle installed), one
student, non-streaming /api/chat/completions to the course tutor. "Off" deactivates the global filter (the only
plugin on the chat path); blocks of on and off alternate so drift hits both.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

from .table import Row, ms, percentile


def end_to_end_rows(messages_per_block: int = 40, blocks: int = 4) -> list[Row]:
    from tests.support.openwebui_stack import running_openwebui

    samples: dict[str, list[float]] = {"on": [], "off": []}
    with tempfile.TemporaryDirectory() as tmp, running_openwebui(Path(tmp)) as ow:
        _, token = ow.make_student("Bench")
        ow.api.models.available(refresh=True)  # Open WebUI caches its model list until a refresh
        from youlab_core.openwebui import SyncOpenWebUIClient

        with SyncOpenWebUIClient(ow.url, token=token, timeout=60.0) as student:
            body = {"model": ow.tutor_model, "messages": [{"role": "user", "content": "How do I start my essay?"}]}
            for _ in range(5):  # warm up both paths
                student.chat_completion(body)
            try:
                for block in range(blocks):
                    for mode in ("on", "off") if block % 2 == 0 else ("off", "on"):
                        ow.api.functions.set_active("youlab_filter", mode == "on")
                        for i in range(messages_per_block):
                            start = time.perf_counter()
                            student.chat_completion({**body, "messages": [{"role": "user", "content": f"Question {i}?"}]})
                            samples[mode].append(time.perf_counter() - start)
            finally:
                ow.api.functions.set_active("youlab_filter", True)
    on, off = samples["on"], samples["off"]
    ratio = statistics.median(on) / statistics.median(off) - 1
    return [Row(
        "bundle", "chat completion through Open WebUI, bundle on",
        f"median {ms(statistics.median(on))}, p99 {ms(percentile(on, 99))}",
        f"bundle off: median {ms(statistics.median(off))}, p99 {ms(percentile(off, 99))}",
        f"{len(on)}+{len(off)} requests, demo model; on vs off {ratio:+.1%} (target: at most +5%)",
    )]
