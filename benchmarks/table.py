"""Shared helpers for benchmark modules: timing, percentiles and the printed table."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass
class Row:
    area: str
    measure: str
    value: str
    baseline: str = ""
    note: str = ""


def percentile(samples: list[float], pct: float) -> float:
    ordered = sorted(samples)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(pct / 100 * (len(ordered) - 1))))
    return ordered[index]


def time_calls(fn: Callable[[], object], repeat: int) -> list[float]:
    """Seconds per call, one sample per call."""
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return samples


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.3f} ms"


def summary(samples: list[float]) -> str:
    return f"median {ms(statistics.median(samples))}, p99 {ms(percentile(samples, 99))}"


def render(rows: list[Row]) -> str:
    headers = ("area", "measure", "value", "baseline (same run)", "note")
    cells = [headers] + [(r.area, r.measure, r.value, r.baseline, r.note) for r in rows]
    widths = [max(len(c[i]) for c in cells) for i in range(len(headers))]
    lines = [" | ".join(c[i].ljust(widths[i]) for i in range(len(headers))).rstrip() for c in cells]
    lines.insert(1, "-+-".join("-" * w for w in widths))
    return "\n".join(lines)
