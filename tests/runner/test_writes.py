"""Where a run's memory writes happen (youlab_core/runner/writes.py): a worker process writes with the same
durability as the runner's own memory store (it used to build its store with the default, so YOULAB_MEMORY_FSYNC
had no effect on writes sent to worker processes)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from youlab_core.memory import MemoryStore
from youlab_core.memory.lifecycle import Proposal
from youlab_core.runner import writes


@pytest.mark.parametrize("sync", [False, True])
async def test_a_worker_process_writes_as_durably_as_the_runners_store(settings, registry, sync: bool) -> None:
    course = next(iter(registry.courses.values()))
    block = next(iter(course.blocks))
    field = next(iter(course.blocks[block].fields))
    store = MemoryStore(settings.users_root, expiry_days=7, sync=sync)
    settings.runner_write_processes = 1
    proposals = [Proposal(block, field, "replace", "Gardens", "said so", "high", "What is the topic?")]
    with ThreadPoolExecutor(1) as threads:
        sender = writes.ProposalWrites(store, settings, threads)
        executor, call = sender._executor_and_call(store.student("u1"), course, proposals, "grader", "run-1")
        assert executor is not threads, "runner_write_processes = 1 sends the write to a worker process"
        writes._worker_store = None
        [diff] = call()  # the worker's entry point, run here so its store can be inspected
        sender.shutdown()
    assert writes._worker_store.sync is sync and writes._worker_store.expiry_days == 7
    assert store.student("u1").get_diff(diff.id).proposed_value == "Gardens"
