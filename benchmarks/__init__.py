"""Benchmarks run by `scripts/bench`. Each `bench_<area>.py` module defines `run(quick: bool) -> list[Row]`.

Every timing is a median over repeated runs and is shown next to a baseline measured in the same run.
"""
