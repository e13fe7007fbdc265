"""Loading the shipped course, next to parsing the same TOML without validation."""

from __future__ import annotations

import statistics
import tomllib
from pathlib import Path

from youlab_core.config import parse_course

from .table import Row, ms, time_calls

COURSE = Path(__file__).resolve().parents[1] / "config/courses/college-essay/course.toml"


def run(quick: bool) -> list[Row]:
    text = COURSE.read_text()
    repeat = 20 if quick else 200
    load = time_calls(lambda: parse_course(text, str(COURSE)), repeat)
    bare = time_calls(lambda: tomllib.loads(text), repeat)
    return [Row("config", "load + validate college-essay (median)", ms(statistics.median(load)),
                f"tomllib.loads only: {ms(statistics.median(bare))}")]
