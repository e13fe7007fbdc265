"""scripts/bench runs every benchmarks/bench_<area>.py through its run(quick); a module without one breaks the table."""

import importlib
import pkgutil

import benchmarks


def test_every_bench_module_has_a_run_function():
    names = [m.name for m in pkgutil.iter_modules(benchmarks.__path__) if m.name.startswith("bench_")]
    assert len(names) >= 7
    for name in names:
        module = importlib.import_module(f"benchmarks.{name}")
        assert callable(getattr(module, "run", None)), f"benchmarks/{name}.py has no run(quick)"
