"""plugins/youlab_filter.py driven with the arguments Open WebUI passes (see docs/bundle.md)."""

from __future__ import annotations

import asyncio
import logging

import pytest

from youlab_core.threads import ThreadWriter
from tests.threads.conftest import make_report

TUTOR = {"id": "college-essay-tutor"}


def body(text: str, model: str = "college-essay-tutor") -> dict:
    return {"model": model, "messages": [{"role": "user", "content": text}]}


def meta(user: str, chat: str, **extra) -> dict:
    return {"user_id": user, "chat_id": chat, "message_id": "m1", "session_id": "s1", **extra}


async def test_message_into_agent_thread_is_refused_and_not_counted(bundle_env):
    flt, bundle, _ = bundle_env
    ref = await ThreadWriter(bundle.backend, bundle.state).write_run("stu-1", make_report())
    with pytest.raises(Exception) as err:
        await flt.inlet(body("hello?"), __user__={"id": "stu-1", "role": "user"}, __metadata__=meta("stu-1", ref.chat_id), __model__=TUTOR)
    assert type(err.value) is Exception
    assert str(err.value) == (
        "This thread is written by the background agent Progression Grader and is read-only. "
        "Review its suggestions with the buttons under its report."
    )
    await bundle.parts.activity.drain()
    assert bundle.state.activity("stu-1", "college-essay") is None


async def test_refused_after_archive_and_for_any_model_and_user(bundle_env):
    flt, bundle, _ = bundle_env
    ref = await ThreadWriter(bundle.backend, bundle.state).write_run("stu-1", make_report())
    await bundle.backend.archive_chat(ref.chat_id)
    for model in ("college-essay-tutor", "youlab_agents.progression-grader", "other"):
        with pytest.raises(Exception, match="read-only"):
            await flt.inlet(body("x", model), __user__={"id": "admin", "role": "admin"}, __metadata__=meta("admin", ref.chat_id), __model__={"id": model})


async def test_student_message_is_counted(bundle_env):
    flt, bundle, _ = bundle_env
    chat = await bundle.backend.create_chat("stu-1", {"models": ["college-essay-tutor"]}, folder_id=None, meta={})
    out = await flt.inlet(body("I wrote a draft"), __user__={"id": "stu-1"}, __metadata__=meta("stu-1", chat.id), __model__=TUTOR)
    assert out["messages"][-1]["content"] == "I wrote a draft"
    await bundle.parts.activity.drain()
    activity = bundle.state.activity("stu-1", "college-essay")
    assert activity is not None and activity.message_count == 1


@pytest.mark.parametrize("extra", [{"task": "title_generation"}, {"task": "follow_up_generation"}, {"automation_id": "a1"}])
async def test_tasks_and_automations_are_not_counted(bundle_env, extra):
    flt, bundle, _ = bundle_env
    await flt.inlet(body("x"), __user__={"id": "stu-1"}, __metadata__=meta("stu-1", "c1", **extra), __model__=TUTOR)
    await bundle.parts.activity.drain()
    assert bundle.state.activity("stu-1", "college-essay") is None


class RecordingMirror:
    def __init__(self) -> None:
        self.sent: list[tuple[str, str | None, str, str]] = []

    def enqueue(self, user_id, chat_id, role, text, *, at=None) -> None:
        self.sent.append((user_id, chat_id, role, text))


async def test_no_body_or_metadata_key_switches_counting_mirroring_or_memory_off(bundle_env):
    """Once a `youlab_internal` key skipped all three; the bundle's own calls never pass the filters (bypass_filter),
    so no client-sent key is honoured."""
    flt, bundle, _ = bundle_env
    course = bundle.courses.course("college-essay")
    bundle.memory.student("stu-1").write_field(course, "student", "profile", "Loves astronomy.", author="student:stu-1")
    mirror = bundle.parts.activity.mirror = RecordingMirror()
    chat = await bundle.backend.create_chat("stu-1", {"models": ["college-essay-tutor"]}, folder_id=None, meta={})
    forged = {**body("skip me"), "youlab_internal": True, "metadata": {"youlab_internal": True}}
    user, metadata = {"id": "stu-1"}, meta("stu-1", chat.id, youlab_internal=True)
    out = await flt.inlet(forged, __user__=user, __metadata__=metadata, __model__=TUTOR)
    assert "Loves astronomy." in out["messages"][0]["content"]
    reply = {**out, "messages": out["messages"] + [{"role": "assistant", "content": "noted"}]}
    await flt.outlet(reply, __user__=user, __metadata__=metadata, __model__=TUTOR)
    await bundle.parts.activity.drain()
    activity = bundle.state.activity("stu-1", "college-essay")
    assert activity is not None and activity.message_count == 1
    assert [(role, text) for _, _, role, text in mirror.sent] == [("user", "skip me"), ("assistant", "noted")]


async def test_chats_with_other_models_are_not_counted(bundle_env):
    flt, bundle, _ = bundle_env
    await flt.inlet(body("x", "gpt-4o"), __user__={"id": "stu-1"}, __metadata__=meta("stu-1", "c1"), __model__={"id": "gpt-4o"})
    await bundle.parts.activity.drain()
    assert bundle.state.activity("stu-1", "college-essay") is None


class BrokenStore:
    def __getattr__(self, name):
        def fail(*args, **kwargs):
            raise RuntimeError("disk I/O error")
        return fail


async def test_broken_store_lets_the_chat_through(tmp_path, config_dir, caplog):
    from youlab_core.bundle import Given, bundle_for, process, settings_from_values
    from youlab_core.threads import MemoryChats
    from tests.bundle.conftest import load_plugin

    flt = load_plugin("youlab_filter").Filter()
    settings = settings_from_values(flt.Valves(config_dir=str(config_dir), storage_root=str(tmp_path / "broken")))
    bundle = bundle_for(settings, backend=MemoryChats(), given=Given(state=BrokenStore()))
    await bundle.start()  # the process's active bundle is the one the filter uses
    try:
        with caplog.at_level(logging.ERROR):
            out = await flt.inlet(body("still here"), __user__={"id": "stu-1"}, __metadata__=meta("stu-1", "c1"), __model__=TUTOR)
            out = await flt.outlet(out, __user__={"id": "stu-1"}, __metadata__=meta("stu-1", "c1"), __model__=TUTOR)
            await bundle.parts.activity.drain()
        assert out["messages"][-1]["content"] == "still here"
        assert "could not record a message" in caplog.text
    finally:
        await process.deactivate(grace_seconds=0)


async def test_after_messages_claims_in_outlet_and_never_delays_the_reply(bundle_env):
    flt, bundle, runner = bundle_env
    user = {"id": "stu-1", "role": "user"}
    chat = await bundle.backend.create_chat("stu-1", {"models": ["college-essay-tutor"]}, folder_id=None, meta={})
    for i in range(6):  # milestone-tracker: after_messages = 6
        b = await flt.inlet(body(f"message {i}"), __user__=user, __metadata__=meta("stu-1", chat.id), __model__=TUTOR)
        reply = {**b, "messages": b["messages"] + [{"role": "assistant", "content": "ok"}]}
        # The handler blocks until released: if the outlet waited for the run, this would time out.
        await asyncio.wait_for(flt.outlet(reply, __user__=user, __metadata__=meta("stu-1", chat.id), __model__=TUTOR), 2)
    await bundle.parts.activity.drain()
    for _ in range(50):
        if runner.works:
            break
        await asyncio.sleep(0.02)
    assert [(w.task, w.trigger, w.user_ids) for w in runner.works] == [("milestone-tracker", "after_messages", ["stu-1"])]
    assert runner.works[0].chat_id == chat.id


async def test_approved_memory_goes_into_the_tutor_system_prompt(bundle_env):
    flt, bundle, _ = bundle_env
    course = bundle.courses.course("college-essay")
    bundle.memory.student("stu-1").write_field(course, "student", "profile", "Loves astronomy; applying to Caltech.", author="student:stu-1")
    sys_body = {"model": "college-essay-tutor", "messages": [{"role": "system", "content": "Be kind."}, {"role": "user", "content": "hi"}]}
    out = await flt.inlet(sys_body, __user__={"id": "stu-1"}, __metadata__=meta("stu-1", "c1"), __model__=TUTOR)
    assert out["messages"][0]["content"].startswith("Be kind.")
    assert "Loves astronomy; applying to Caltech." in out["messages"][0]["content"]
    other = await flt.inlet(body("hi"), __user__={"id": "stu-2"}, __metadata__=meta("stu-2", "c2"), __model__=TUTOR)
    assert "Loves astronomy" not in str(other["messages"])  # only the student's own memory


async def test_memory_injection_can_be_turned_off(tmp_path, config_dir):
    from youlab_core.bundle import bundle_for, process, settings_from_values
    from youlab_core.threads import MemoryChats
    from tests.bundle.conftest import load_plugin

    flt = load_plugin("youlab_filter").Filter()
    settings = settings_from_values(flt.Valves(config_dir=str(config_dir), storage_root=str(tmp_path / "y2"), inject_memory=False))
    bundle = bundle_for(settings, backend=MemoryChats())
    await bundle.start()
    course = bundle.courses.course("college-essay")
    bundle.memory.student("stu-1").write_field(course, "student", "profile", "Loves astronomy.", author="student:stu-1")
    out = await flt.inlet(body("hi"), __user__={"id": "stu-1"}, __metadata__=meta("stu-1", "c1"), __model__=TUTOR)
    assert "Loves astronomy" not in str(out["messages"])
    state = bundle.state
    await process.deactivate(grace_seconds=0)
    state.close()


def test_valves_have_descriptions_safe_defaults_and_password_keys():
    from tests.bundle.conftest import load_plugin

    valves = load_plugin("youlab_filter").Filter.Valves
    schema = valves.model_json_schema()["properties"]
    for name, prop in schema.items():
        assert prop.get("description"), name
    for key in ("honcho_api_key", "letta_api_key"):
        assert schema[key]["input"] == {"type": "password"}
    defaults = valves()
    assert defaults.honcho_url == "" and defaults.letta_url == "" and defaults.state_url == ""


def test_plugin_files_start_with_front_matter():
    from tests.bundle.conftest import REPO

    for name in ("youlab_filter", "youlab_agents", "youlab_review"):
        text = (REPO / "plugins" / f"{name}.py").read_text()
        assert text.startswith('"""\n')
        head = text.split('"""')[1]
        for key in ("title:", "author:", "version:", "description:", "license:", "requirements: youlab-core"):
            assert key in head, (name, key)
