"""youlab_core.bundle.process and parts: one set of background parts per process, started on the event loop, and
replaced when the valves change (no restart needed for any valve)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from youlab_core.bundle import Given, bundle_for, process, settings_from_values
from youlab_core.threads import MemoryChats
from tests.bundle.conftest import RecordingRunner, load_plugin
from tests.bundle.test_filter_plugin import TUTOR, body, meta


def scheduler_tasks() -> list[asyncio.Task]:
    return [t for t in asyncio.all_tasks() if t.get_name() == "youlab-scheduler" and not t.done()]


async def wait_for(condition, seconds: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + seconds
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "condition not reached in time"
        await asyncio.sleep(0.05)


async def test_one_scheduler_per_process_across_plugin_reexecution(tmp_path: Path, config_dir: Path) -> None:
    runner = RecordingRunner()
    try:
        for _ in range(2):  # Open WebUI executes the plugin file again on every save: new module, same process
            flt = load_plugin("youlab_filter").Filter()
            flt.valves = flt.Valves(config_dir=str(config_dir), storage_root=str(tmp_path / "y"))
            bundle = bundle_for(settings_from_values(flt.valves), backend=MemoryChats(), given=Given(handler=runner.handler))
            await flt.inlet(body("hi"), __user__={"id": "stu-1"}, __metadata__=meta("stu-1", "c1"), __model__=TUTOR)
        assert len(scheduler_tasks()) == 1
        assert process.active_bundle() is bundle
    finally:
        await process.deactivate(grace_seconds=0)
    assert scheduler_tasks() == []


async def test_new_valves_replace_the_running_parts_at_the_next_message(tmp_path: Path, config_dir: Path) -> None:
    runner = RecordingRunner()
    flt = load_plugin("youlab_filter").Filter()
    flt.valves = flt.Valves(config_dir=str(config_dir), storage_root=str(tmp_path / "y"))
    first = bundle_for(settings_from_values(flt.valves), backend=MemoryChats(), given=Given(handler=runner.handler))
    try:
        await flt.inlet(body("hi"), __user__={"id": "stu-1"}, __metadata__=meta("stu-1", "c1"), __model__=TUTOR)
        old_scheduler = first.scheduler
        assert old_scheduler is not None
        flt.valves = flt.Valves(config_dir=str(config_dir), storage_root=str(tmp_path / "y"), inject_memory=False)
        # What the plugin's bundle_for would make, with the test's chat backend (Open WebUI's tables otherwise).
        bundle_for(settings_from_values(flt.valves), backend=MemoryChats(), given=Given(handler=runner.handler))
        await flt.inlet(body("hi"), __user__={"id": "stu-1"}, __metadata__=meta("stu-1", "c1"), __model__=TUTOR)
        second = process.active_bundle()
        assert second is not first and second is not None and second.settings.inject_memory is False
        assert first.parts is None and old_scheduler._stopping
        assert second.scheduler is not None and second.scheduler is not old_scheduler
        assert len(scheduler_tasks()) == 1
    finally:
        await process.deactivate(grace_seconds=0)


async def test_valves_saved_in_the_admin_panel_reach_the_parts_without_a_message(tmp_path: Path, config_dir: Path,
                                                                                 honcho_server) -> None:
    """The watcher reads the stored valves: Honcho switched on in the admin panel starts the mirror within seconds."""
    base = dict(config_dir=str(config_dir), storage_root=str(tmp_path / "y"), config_check_seconds=0.2)
    stored = {"settings": settings_from_values(base)}

    async def source():
        return stored["settings"]

    first = bundle_for(stored["settings"], backend=MemoryChats(), settings_source=source)
    try:
        parts = await first.start()
        assert parts is not None and parts.mirror is None
        stored["settings"] = settings_from_values({**base, "honcho_url": honcho_server.url})
        await wait_for(lambda: process.active_bundle() is not first and process.active_bundle().parts is not None)
        now = process.active_bundle().parts
        assert now.mirror is not None and now.mirror._task is not None and not now.mirror._task.done()
    finally:
        await process.deactivate(grace_seconds=0)


async def test_honcho_mirror_runs_on_the_loop_and_delivers_counted_messages(tmp_path: Path, config_dir: Path,
                                                                           honcho_server) -> None:
    """The defect this guards against: the mirror was made on the activity worker's thread, never started, and
    every message stayed queued. Both the student's message and the tutor's reply reach Honcho."""
    flt = load_plugin("youlab_filter").Filter()
    flt.valves = flt.Valves(config_dir=str(config_dir), storage_root=str(tmp_path / "y"), honcho_url=honcho_server.url)
    bundle = bundle_for(settings_from_values(flt.valves), backend=MemoryChats(), given=Given(handler=RecordingRunner().handler))
    user = {"id": "stu-1", "role": "user"}
    try:
        sent = await flt.inlet(body("My essay is about my grandmother's garden"), __user__=user,
                               __metadata__=meta("stu-1", "chat-1"), __model__=TUTOR)
        reply = {**sent, "messages": sent["messages"] + [{"role": "assistant", "content": "Tell me about the garden."}]}
        await flt.outlet(reply, __user__=user, __metadata__=meta("stu-1", "chat-1"), __model__=TUTOR)

        def delivered() -> list[str]:
            return [m["content"] for m in honcho_server.store.all_messages(bundle.settings.honcho_workspace)]

        await wait_for(lambda: len(delivered()) == 2)
        assert delivered() == ["My essay is about my grandmother's garden", "Tell me about the garden."]
    finally:
        await process.deactivate(grace_seconds=0)


async def test_agents_without_a_model_say_which_valve_and_counting_goes_on(tmp_path: Path, config_dir: Path) -> None:
    flt = load_plugin("youlab_filter").Filter()
    flt.valves = flt.Valves(config_dir=str(config_dir), storage_root=str(tmp_path / "y"))
    bundle = bundle_for(settings_from_values(flt.valves), backend=MemoryChats())  # no llm_model, no Honcho
    try:
        await flt.inlet(body("hi"), __user__={"id": "stu-1"}, __metadata__=meta("stu-1", "c1"), __model__=TUTOR)
        parts = bundle.parts
        assert parts is not None and parts.scheduler is None and parts.runner is None
        assert parts.problem.startswith("llm_model: ")
        assert any(p.startswith("The agents cannot run: llm_model") for p in bundle.config_problems("college-essay"))
        await parts.activity.drain()
        activity = parts.state.activity("stu-1", "college-essay")
        assert activity is not None and activity.message_count == 1
    finally:
        await process.deactivate(grace_seconds=0)
