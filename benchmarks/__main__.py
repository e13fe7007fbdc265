"""python -m benchmarks [--quick] [AREA ...]: run the benchmark modules and print one table."""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
import traceback

from .table import Row, render


def main() -> int:
    parser = argparse.ArgumentParser(prog="scripts/bench")
    parser.add_argument("--quick", action="store_true", help="smaller sizes and fewer repeats (a smoke run)")
    parser.add_argument("areas", nargs="*", help="only these modules (e.g. memory state)")
    args = parser.parse_args()
    package = importlib.import_module("benchmarks")  # run as `python -m benchmarks`, this module is __main__
    names = sorted(m.name for m in pkgutil.iter_modules(package.__path__) if m.name.startswith("bench_"))
    if args.areas:
        wanted = {a.replace("-", "_") for a in args.areas}  # `memory-view` names bench_memory_view
        names = [n for n in names if n.removeprefix("bench_") in wanted]
    rows: list[Row] = []
    failed = False
    for name in names:
        print(f"running {name} ...", file=sys.stderr, flush=True)
        try:
            rows.extend(importlib.import_module(f"benchmarks.{name}").run(args.quick))
        except Exception:
            failed = True
            traceback.print_exc()
            rows.append(Row(name.removeprefix("bench_"), "FAILED", "see traceback above"))
    print(render(rows))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
