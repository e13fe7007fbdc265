"""scripts/run's costs against a real Open WebUI 0.12.4: time to a ready server (fresh data dir), and a repeated
`youlab install` that has nothing to change, next to the cheapest admin call (listing functions) in the same run."""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

from .table import Row, ms, percentile


def run(quick: bool) -> list[Row]:
    from tests.support.openwebui_stack import running_openwebui

    repeat = 3 if quick else 15
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        with running_openwebui(Path(tmp)) as ow:
            ready = time.perf_counter() - started
            installs, lists = [], []
            for _ in range(repeat):
                t0 = time.perf_counter()
                report = ow.install()
                installs.append(time.perf_counter() - t0)
                assert not report.changes, report.changes
                t0 = time.perf_counter()
                ow.api.functions.list()
                lists.append(time.perf_counter() - t0)
    return [
        Row("run", "fresh start to installed (harness = scripts/run's steps)", f"{ready:.1f} s", "",
            "Open WebUI start + health + sign-in + first install; 1 sample"),
        Row("run", f"youlab install, nothing to change (n={repeat})",
            f"median {ms(statistics.median(installs))}, p99 {ms(percentile(installs, 99))}",
            f"GET /api/v1/functions/: median {ms(statistics.median(lists))}", "reads every function, valve and record"),
    ]
