"""youlab_core.bundle.process and parts: one set of background parts per process, started on the event loop, and
replaced when the valves change (no restart needed for any valve)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from youlab_core.bundle import Given, bundle_for, context, process, settings_from_values
from youlab_core.bundle.filter import GUARD_UNAVAILABLE
from youlab_core.settings import Settings
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


@pytest.fixture
def stored_valves(monkeypatch: pytest.MonkeyPatch) -> dict:
    """The filter's valves as Open WebUI stores them (held["settings"]), and how often the bundle read them."""
    held: dict = {"reads": 0}

    async def read() -> Settings:
        held["reads"] += 1
        if isinstance(held.get("settings"), Exception):
            raise held["settings"]
        return held["settings"]

    monkeypatch.setattr(context, "stored_filter_settings", read)
    held["source"] = read
    return held


async def test_one_scheduler_per_process_across_plugin_reexecution(tmp_path: Path, config_dir: Path, stored_valves: dict) -> None:
    runner = RecordingRunner()
    stored_valves["settings"] = settings_from_values(dict(config_dir=str(config_dir), storage_root=str(tmp_path / "y")))
    # What the plugin's bundle_for finds for the stored valves, with the test's chat backend (Open WebUI's tables otherwise).
    bundle = bundle_for(stored_valves["settings"], backend=MemoryChats(), given=Given(handler=runner.handler))
    try:
        for _ in range(2):  # Open WebUI executes the plugin file again on every save: new module, same process
            flt = load_plugin("youlab_filter").Filter()
            await flt.inlet(body("hi"), __user__={"id": "stu-1"}, __metadata__=meta("stu-1", "c1"), __model__=TUTOR)
        assert len(scheduler_tasks()) == 1
        assert process.active_bundle() is bundle
    finally:
        await process.deactivate(grace_seconds=0)
    assert scheduler_tasks() == []


async def test_a_message_reads_no_valves_and_open_webui_has_none_to_load(tmp_path: Path, config_dir: Path,
                                                                          stored_valves: dict) -> None:
    """Open WebUI reads and validates a filter's stored valves on every inlet and outlet when the instance has a
    `valves` attribute (utils/filter.py apply_filter_valves); the filter has none, and the bundle reads the stored
    valves once, not per message (the watcher follows them)."""
    stored_valves["settings"] = settings_from_values(dict(config_dir=str(config_dir), storage_root=str(tmp_path / "y"),
                                                          config_check_seconds=600))
    bundle = bundle_for(stored_valves["settings"], backend=MemoryChats(), given=Given(handler=RecordingRunner().handler),
                        settings_source=stored_valves["source"])
    flt = load_plugin("youlab_filter").Filter()
    assert not hasattr(flt, "valves") and hasattr(flt, "Valves")  # the Valves stay: the admin panel edits them
    try:
        for i in range(20):
            sent = await flt.inlet(body(f"message {i}"), __user__={"id": "stu-1"}, __metadata__=meta("stu-1", "c1"), __model__=TUTOR)
            await flt.outlet(sent, __user__={"id": "stu-1"}, __metadata__=meta("stu-1", "c1"), __model__=TUTOR)
        assert process.active_bundle() is bundle
        assert stored_valves["reads"] == 1
    finally:
        await process.deactivate(grace_seconds=0)


async def test_without_readable_settings_the_guard_refuses_and_the_reply_goes_through(stored_valves: dict) -> None:
    """Fails closed: with no bundle yet and Open WebUI's stored valves unreadable, no chat can be checked."""
    stored_valves["settings"] = RuntimeError("database is locked")
    flt = load_plugin("youlab_filter").Filter()
    with pytest.raises(Exception) as refused:
        await flt.inlet(body("hi"), __user__={"id": "stu-1"}, __metadata__=meta("stu-1", "c1"), __model__=TUTOR)
    assert str(refused.value) == GUARD_UNAVAILABLE
    reply = body("hi") | {"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}]}
    assert await flt.outlet(reply, __user__={"id": "stu-1"}, __metadata__=meta("stu-1", "c1"), __model__=TUTOR) == reply


async def test_new_stored_valves_replace_the_running_parts_within_seconds(tmp_path: Path, config_dir: Path,
                                                                          stored_valves: dict) -> None:
    runner = RecordingRunner()
    base = dict(config_dir=str(config_dir), storage_root=str(tmp_path / "y"), config_check_seconds=0.2)
    stored_valves["settings"] = settings_from_values(base)
    first = bundle_for(stored_valves["settings"], backend=MemoryChats(), given=Given(handler=runner.handler),
                       settings_source=stored_valves["source"])
    flt = load_plugin("youlab_filter").Filter()
    try:
        await flt.inlet(body("hi"), __user__={"id": "stu-1"}, __metadata__=meta("stu-1", "c1"), __model__=TUTOR)
        old_scheduler = first.scheduler
        assert process.active_bundle() is first and old_scheduler is not None
        changed = settings_from_values({**base, "inject_memory": False})
        second = bundle_for(changed, backend=MemoryChats(), given=Given(handler=runner.handler),
                            settings_source=stored_valves["source"])
        stored_valves["settings"] = changed  # the admin saves the valves
        await wait_for(lambda: process.active_bundle() is second and second.parts is not None)
        assert first.parts is None and old_scheduler._stopping
        course = second.courses.course("college-essay")
        second.memory.student("stu-1").write_field(course, "student", "profile", "Loves astronomy.", author="student:stu-1")
        out = await flt.inlet(body("hi"), __user__={"id": "stu-1"}, __metadata__=meta("stu-1", "c1"), __model__=TUTOR)
        assert "Loves astronomy" not in str(out["messages"])  # the message went through the new settings
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
    valves = flt.Valves(config_dir=str(config_dir), storage_root=str(tmp_path / "y"), honcho_url=honcho_server.url)
    bundle = bundle_for(settings_from_values(valves), backend=MemoryChats(), given=Given(handler=RecordingRunner().handler))
    await bundle.start()  # the process's active bundle is the one the filter uses
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
    valves = flt.Valves(config_dir=str(config_dir), storage_root=str(tmp_path / "y"))
    bundle = bundle_for(settings_from_values(valves), backend=MemoryChats())  # no llm_model, no Honcho
    await bundle.start()
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
