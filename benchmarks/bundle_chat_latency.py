"""Chat latency through a real Open WebUI 0.12.4 with the bundle on vs off, same run (used by bench_bundle).

One Open WebUI (as the e2e tests start it: the demo model as its OpenAI connection, the bundle installed), one
student, non-streaming /api/chat/completions to the course tutor. Three modes, in alternating blocks so drift hits
all of them: "on" (the YouLab filter active), "off" (no filter at all), and "no-op filter" (a global filter that
returns the body unchanged). Open WebUI itself does extra work for any filter (module and valve lookups, the
outlet pass), so "no-op" separates that from the bundle's own cost.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

from .table import Row, ms, percentile

NOOP_ID = "bench_noop_filter"
NOOP = '"""\ntitle: No-op filter (benchmark baseline)\n"""\n\n\nclass Filter:\n    async def inlet(self, body):\n        return body\n\n    async def outlet(self, body):\n        return body\n'


def end_to_end_rows(messages_per_block: int = 30, blocks: int = 4) -> list[Row]:
    from tests.support.openwebui_stack import running_openwebui
    from youlab_core.openwebui import SyncOpenWebUIClient

    modes = ("on", "off", "noop")
    samples: dict[str, list[float]] = {m: [] for m in modes}
    with tempfile.TemporaryDirectory() as tmp, running_openwebui(Path(tmp)) as ow:
        _, token = ow.make_student("Bench")
        ow.api.models.available(refresh=True)  # Open WebUI caches its model list until a refresh
        if ow.api.functions.get(NOOP_ID) is None:
            ow.api.functions.create(NOOP_ID, "No-op filter", NOOP, "benchmark baseline")
        ow.api.functions.set_global(NOOP_ID, True)

        def use(mode: str) -> None:
            ow.api.functions.set_active("youlab_filter", mode == "on")
            ow.api.functions.set_active(NOOP_ID, mode == "noop")

        with SyncOpenWebUIClient(ow.url, token=token, timeout=60.0) as student:
            body = {"model": ow.tutor_model, "messages": [{"role": "user", "content": "How do I start my essay?"}]}
            try:
                for mode in modes:  # warm up every path
                    use(mode)
                    for _ in range(5):
                        student.chat_completion(body)
                for block in range(blocks):
                    for mode in modes[block % 3:] + modes[: block % 3]:
                        use(mode)
                        for i in range(messages_per_block):
                            start = time.perf_counter()
                            student.chat_completion({**body, "messages": [{"role": "user", "content": f"Question {i}?"}]})
                            samples[mode].append(time.perf_counter() - start)
            finally:
                use("on")
    on, off, noop = samples["on"], samples["off"], samples["noop"]

    def fig(s: list[float]) -> str:
        return f"median {ms(statistics.median(s))}, p99 {ms(percentile(s, 99))}"

    vs_off = statistics.median(on) / statistics.median(off) - 1
    vs_noop = statistics.median(on) / statistics.median(noop) - 1
    return [
        Row("bundle", "chat completion through Open WebUI, bundle on", fig(on), f"no filter: {fig(off)}",
            f"{len(on)} requests each, demo model; on vs off {vs_off:+.1%} (target: at most +5%)"),
        Row("bundle", "chat completion through Open WebUI, no-op filter", fig(noop), "",
            f"Open WebUI's own cost of having a filter; bundle on vs no-op filter {vs_noop:+.1%}"),
    ]
