"""The bundle against the session's real Open WebUI 0.12.4: triggers -> run threads -> read-only guard -> review.

A course with short thresholds (tests/e2e/courses/e2e-quick) is dropped into the session's config directory and the
installer re-run, as an admin would. Everything goes through Open WebUI's HTTP API as the student or the admin.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import git
import pytest

from tests.support.e2e_chats import (
    READ_ONLY,
    TUTOR,
    agent_threads,
    demo_calls,
    pending_diffs,
    refusal,
    report_message,
    say,
    student_chat,
)
from tests.support.openwebui_stack import OpenWebUIHandle
from tests.support.waiting import eventually
from youlab_core.memory import MemoryStore
from youlab_core.openwebui import OpenWebUIError
from youlab_core.settings import Settings

HERE = Path(__file__).parent
pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def first_thread(quick: OpenWebUIHandle) -> dict[str, Any]:
    """A student chats 3 messages in the course -> the after_messages agent writes a thread with pending diffs."""
    user, token = quick.make_student("Ada")

    async def scenario() -> dict[str, Any]:
        async with quick.client(token) as c:
            await c.chats.new(student_chat([
                "My essay topic is my grandmother's garden in Oaxaca.",
                "I apply to Reed College because of its thesis program.",
            ]))
            for text in ("Hello coach.", "I drafted an opening paragraph.", "What should I fix first?"):
                reply = await say(c, text)
                assert reply["choices"][0]["message"]["content"]

            async def thread_ready():
                folder, chats = await agent_threads(c, "quick-after")
                return (folder, chats) if chats else None

            try:
                folder, chats = await eventually(thread_ready, 60, "the quick-after thread")
            except AssertionError as exc:
                log = "\n".join(line for line in quick.log_text().splitlines() if "youlab_core" in line or "Error" in line)
                from youlab_core.state import open_store

                store = open_store(url=f"sqlite:///{quick.storage_root / 'state.db'}")
                facts = (store.activity(user["id"], "e2e-quick"), store.trigger_state("quick-after", user["id"]),
                         store.list_runs(user_id=user["id"]), quick.api.functions.get_valves("youlab_filter"),
                         {k: v for k, v in quick.api.functions.get("youlab_filter").items() if k != "content"},
                         [(f["id"], f["is_active"], f["is_global"]) for f in quick.api.functions.list()])
                store.close()
                raise AssertionError(f"{exc}\n{facts}\nOpen WebUI log (youlab lines):\n{log[-6000:]}") from None
            return {"user": user, "token": token, "folder": folder, "chat": chats[0]}

    return asyncio.run(scenario())


def test_after_messages_run_writes_a_thread_with_the_report_and_pending_diffs(quick, first_thread):
    folder, chat, user = first_thread["folder"], first_thread["chat"], first_thread["user"]
    assert folder["name"] == "Quick After"
    assert folder["meta"] == {"type": "background_agent", "agentId": "quick-after", "course": "e2e-quick"}
    assert chat["chat"]["models"] == ["youlab_agents.quick-after"]
    assert chat["title"].startswith("Quick After - ")
    meta = chat["meta"]["youlab"]
    assert meta["type"] == "background_agent" and meta["task"] == "quick-after" and meta["course"] == "e2e-quick"
    message = report_message(chat)
    assert message["role"] == "assistant" and message["model"] == "youlab_agents.quick-after"
    content = message["content"]
    assert "Which essay topic did the student choose?" in content
    assert "```diff" in content and "grandmother's garden" in content
    diffs = pending_diffs(quick, user["id"])
    assert diffs and all(d["status"] == "pending" for d in diffs.values())
    for diff_id in diffs:
        assert f"`{diff_id}`" in content
    repo = git.Repo(quick.storage_root / "users" / user["id"])
    assert not repo.is_dirty(untracked_files=True)  # pending diffs are committed


async def test_posting_into_the_thread_is_refused_also_archived_and_moved(quick, first_thread):
    chat_id = first_thread["chat"]["id"]
    async with quick.client(first_thread["token"]) as c:

        async def refused(model: str) -> None:
            before = demo_calls(quick)
            current = await c.chats.get(chat_id)
            with pytest.raises(OpenWebUIError) as err:
                await say(c, "Can I add something?", model=model, chat_id=chat_id,
                          parent_id=current["chat"]["history"]["currentId"])
            assert err.value.status == 403  # the write guard, before Open WebUI stores the turn
            assert READ_ONLY.format(name="Quick After") in str(err.value.detail)
            await asyncio.sleep(0.3)
            assert demo_calls(quick) == before, "the model was called for a message into a read-only thread"

        await refused(TUTOR)
        await refused("youlab_agents.quick-after")
        await c.chats.set_archived(chat_id, True)
        assert (await c.chats.get(chat_id))["folder_id"] is None  # Open WebUI clears the folder on archive
        await refused(TUTOR)
        await c.chats.set_archived(chat_id, False)
        await c.chats.move_to_folder(chat_id, first_thread["folder"]["id"])
        await c.chats.move_to_folder(chat_id, None)
        await refused(TUTOR)
        await c.chats.move_to_folder(chat_id, first_thread["folder"]["id"])
        stored = await c.chats.get(chat_id)
        assert stored["chat"]["models"] == ["youlab_agents.quick-after"]  # put back after each refused turn


async def test_agent_models_are_hidden_students_refused_admins_run_them(quick):
    _, token = quick.make_student("Ben")
    other, _ = quick.make_student("Cleo")
    async with quick.client(token) as c:
        models = {m["id"]: m for m in await c.models.available(refresh=True)}
        agent = models["youlab_agents.quick-after"]
        assert agent["info"]["meta"]["hidden"] is True and agent["name"] == "Quick After"
        assert [a["id"] for a in agent["actions"]] == [f"youlab_review.{a}" for a in (
            "approve_all", "reject_all", "review")]  # the memory buttons are the memory view model's only
        assert all(not a["id"].startswith("youlab_review") for a in models[TUTOR].get("actions", []))  # not global
        before = demo_calls(quick)
        assert "only an administrator can run one by hand" in await refusal(say(c, "me", model="youlab_agents.quick-after"))
        assert demo_calls(quick) == before
    async with quick.client() as admin:
        reply = await say(admin, f"{other['email']}", model="youlab_agents.quick-after")
        assert "choices" in reply, reply
        summary = reply["choices"][0]["message"]["content"]
        assert "manual run" in summary and other["email"] in summary and "1 succeeded" in summary
        # Cleo never wrote in the course: the run has nothing to read and leaves no empty report in her chats.
        assert "nothing to read yet" in summary
    async with quick.client(other["token"]) as c:
        _, chats = await agent_threads(c, "quick-after")
        assert chats == []
    async with quick.client() as admin:
        # quick-idle says manual = false. A pipe's error reaches an API caller as {"error": {"detail": ...}}.
        assert "manual = false" in await refusal(say(admin, "all", model="youlab_agents.quick-idle"))


async def test_review_actions_apply_and_record_and_other_students_cannot_act(quick, first_thread):
    user, chat = first_thread["user"], first_thread["chat"]
    message = report_message(chat)
    diffs = pending_diffs(quick, user["id"])
    approve_id, reject_id = sorted(diffs)[:2]
    # Open WebUI requires session_id in an action call (the browser sends its socket id; API callers have none).
    body = {"model": "youlab_agents.quick-after", "chat_id": chat["id"], "id": message["id"], "messages": [], "session_id": None}
    intruder, intruder_token = quick.make_student("Eve")
    async with quick.client(intruder_token) as c:
        assert await c.chats.get(chat["id"]) is None
        with pytest.raises(OpenWebUIError) as err:
            await c.request("POST", "/api/chat/actions/youlab_review.review",
                            json={**body, "youlab": {"decisions": [{"diff_id": approve_id, "decision": "approve"}]}})
        assert err.value.status in (400, 401, 403, 404)
    assert pending_diffs(quick, user["id"])[approve_id]["status"] == "pending"

    async with quick.client(first_thread["token"]) as c:
        result = await c.request("POST", "/api/chat/actions/youlab_review.review", json={**body, "youlab": {"decisions": [
            {"diff_id": approve_id, "decision": "approve", "note": "yes, that is my topic"},
            {"diff_id": reject_id, "decision": "reject", "note": "not yet"},
        ]}})
        assert result["youlab"]["statuses"][approve_id] == "approved"
        assert result["youlab"]["statuses"][reject_id] == "rejected"
        stored = (await c.chats.get(chat["id"]))["chat"]["history"]["messages"][message["id"]]
        assert "✅ approved" in stored["content"] and "❌ rejected" in stored["content"]
    memory = MemoryStore(quick.storage_root / "users").student(user["id"])  # read what the server committed
    approved, rejected = memory.get_diff(approve_id), memory.get_diff(reject_id)
    assert approved.status.value == "approved" and rejected.status.value == "rejected"
    assert rejected.review_note == "not yet" and approved.reviewed_by == f"student:{user['id']}"
    repo = git.Repo(quick.storage_root / "users" / user["id"])
    applied = repo.commit(approved.applied_commit)
    assert applied.author.name == "agent:quick-after"
    block = (quick.storage_root / "users" / user["id"] / "memory-blocks" / "e2e-quick" / f"{approved.block}.md").read_text()
    assert str(approved.proposed_value).splitlines()[0] in block
    assert approve_id not in pending_diffs(quick, user["id"])  # decided diffs leave pending_diffs/


def minute_only_config(quick: OpenWebUIHandle, root: Path) -> Path:
    """The e2e course with only its per-minute task, for a second scheduler in this process."""
    text = (HERE / "courses" / "e2e-quick" / "course.toml").read_text()
    head, *tasks = text.split("[[task]]")
    minute = next("[[task]]" + t for t in tasks if 'name = "quick-minute"' in t)
    target = root / "courses" / "e2e-quick" / "course.toml"
    target.parent.mkdir(parents=True)
    target.write_text(head + minute)
    return root


async def test_idle_and_per_minute_triggers_fire_once(quick, tmp_path):
    """Idle after 1 minute; the per-minute schedule once per minute per student even with a second scheduler
    (this test process, a recording handler) polling the same state store next to Open WebUI's."""
    from youlab_core.config import CourseRegistry
    from youlab_core.scheduler import Scheduler
    from youlab_core.state import open_store

    store = open_store(url=f"sqlite:///{quick.storage_root / 'state.db'}")
    registry = CourseRegistry(minute_only_config(quick, tmp_path / "config"))
    assert not registry.reload() and [t.name for _, t in registry.tasks()] == ["quick-minute"]
    handled: list[Any] = []

    async def record(work: Any) -> None:
        handled.append(work)

    second = Scheduler(store, registry, record, Settings(poll_interval_seconds=1.0, poll_jitter_seconds=0.5))
    loop_task = asyncio.create_task(second.run_forever())
    user, token = quick.make_student("Finn")
    try:
        async with quick.client(token) as c:
            await c.chats.new(student_chat(["My essay topic is the night sky over my village."]))
            await say(c, "I will write tomorrow.")  # the last message: idle from now

            async def fired():
                idle = (await agent_threads(c, "quick-idle"))[1]
                minutes = await asyncio.to_thread(store.list_runs, task="quick-minute", user_id=user["id"], limit=50)
                return (idle, minutes) if idle and minutes else None

            idle, _ = await eventually(fired, 150, "the idle thread and a per-minute run", interval=2)
            assert idle[0]["chat"]["models"] == ["youlab_agents.quick-idle"]
            await asyncio.sleep(5)  # both schedulers poll again after the minute was claimed
    finally:
        await second.stop(grace_seconds=2)
        await asyncio.gather(loop_task, return_exceptions=True)
    try:
        runs = store.list_runs(task="quick-minute", user_id=user["id"], limit=50)
        due = [r.due_at for r in runs]
        assert due and len(due) == len(set(due)), f"a minute ran twice: {due}"
        idle_runs = store.list_runs(task="quick-idle", user_id=user["id"], limit=50)
        assert len(idle_runs) == 1 and idle_runs[0].trigger == "on_idle"
    finally:
        store.close()


async def test_a_broken_course_file_keeps_the_last_good_config(quick):
    course_file = quick.config_dir / "courses" / "e2e-quick" / "course.toml"
    good = course_file.read_text()
    _, token = quick.make_student("Gus")
    try:
        course_file.write_text(good.replace("[agent]", "[agent\nbroken = ", 1))
        await asyncio.sleep(4)  # longer than the config check interval
        async with quick.client(token) as c:
            reply = await say(c, "Still there?")
            assert reply["choices"][0]["message"]["content"]
            models = {m["id"]: m for m in await c.models.available(refresh=True)}
            assert "youlab_agents.quick-after" in models  # the last good version keeps running
        records = {r["id"]: r for r in quick.api.models.records()}
        description = records["youlab_agents.quick-after"]["meta"]["description"]
        assert "Configuration problems" in description and "course.toml" in description
    finally:
        course_file.write_text(good)
    await asyncio.sleep(4)
    quick.api.models.available(refresh=True)
    records = {r["id"]: r for r in quick.api.models.records()}
    assert "Configuration problems" not in records["youlab_agents.quick-after"]["meta"]["description"]


async def test_rest_message_source_reads_only_course_chats(quick, first_thread):
    """The runner's RestMessageSource against this Open WebUI: course chats only (no agent thread, no other model),
    each as its current branch, oldest first. (InProcessMessageSource is what the runs above used.)"""
    from youlab_core.config import load_course
    from youlab_core.dialectic import RestMessageSource, select_chats

    async with quick.client(first_thread["token"]) as c:
        second = await c.chats.new(student_chat(["Second course chat about my thesis idea."]))
        other = student_chat(["Not a course chat."])
        await c.chats.new({**other, "models": ["youlab-demo"]})
    course = load_course(quick.config_dir / "courses" / "e2e-quick" / "course.toml")
    task = course.task("quick-after")
    async with quick.client() as admin:
        source = RestMessageSource(admin)
        chats = await source.list_chats(first_thread["user"]["id"])
        picked = select_chats(chats, course, task.queries[0], task=task)
        assert first_thread["chat"]["id"] not in {ch.id for ch in picked}
        assert all(TUTOR in ch.models for ch in picked) and len(picked) == 2
        assert picked[0].id == second["id"]  # most recently updated first
        history = await source.messages(first_thread["user"]["id"], second["id"])
        assert [(m.role, m.content) for m in history] == [
            ("user", "Second course chat about my thesis idea."), ("assistant", "Tell me more.")]
