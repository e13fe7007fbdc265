"""The view models (youlab_core/bundle/view_models.py): never a course task, listed by the Pipe with their records,
never run, their Actions reach a read-only view through the write guard while messages into it stay refused, and
the memory view's message is written under its own model (an older view is moved onto it)."""

from __future__ import annotations

import re

import httpx
import pytest

from youlab_core.bundle import agents
from youlab_core.bundle.memory_view import refresh
from youlab_core.bundle.view_models import (
    MEMORY_ACTION_ID,
    REVIEW_ACTION_ID,
    VIEW_MODELS,
    find_view,
    youlab_action_ids,
)
from youlab_core.bundle.write_guard import WriteGuardMiddleware
from youlab_core.config.schema import SLUG
from youlab_core.threads.memory_view import MEMORY_TASK, memory_chat_id
from youlab_core.threads.model import AgentThreadInfo, task_of_model

from .conftest import load_plugin
from .test_write_guard import Recorder

ADMIN = {"id": "admin-1", "role": "admin"}
STUDENT = {"id": "stu-1", "role": "user"}


def test_a_view_can_never_be_a_course_task_and_is_found_by_suffix_or_model() -> None:
    assert VIEW_MODELS and len({v.suffix for v in VIEW_MODELS}) == len(VIEW_MODELS)
    for view in VIEW_MODELS:
        assert re.match(SLUG, view.suffix) is None  # course task names are slugs: no ':'
        assert task_of_model(view.model_id) == view.suffix
        assert find_view(view.suffix) is view and find_view(view.model_id) is view
        assert view.name and view.description and view.action_ids
    assert find_view("progression-grader") is None and find_view(None) is None
    assert find_view(MEMORY_TASK) is not None
    assert set(youlab_action_ids()) == {REVIEW_ACTION_ID, MEMORY_ACTION_ID, "youlab_dashboard"}  # + the dashboard's


def test_the_pipe_lists_each_view_and_writes_its_record(bundle_env) -> None:
    _, bundle, _ = bundle_env
    listed = {m["id"]: m["name"] for m in agents.pipe_list(bundle)}
    records = {r["id"]: r for r in agents.desired_records(bundle)}
    for view in VIEW_MODELS:
        assert listed[view.suffix] == view.name
        assert records[view.model_id]["meta"]["actionIds"] == list(view.action_ids)
    assert records["youlab_agents.progression-grader"]["meta"]["actionIds"] == [REVIEW_ACTION_ID]


@pytest.mark.parametrize("user", [ADMIN, STUDENT])
async def test_a_view_model_is_never_run(bundle_env, user) -> None:
    """The Pipe's pipe() (plugins/youlab_agents.py) for a message to the view's model: a plain answer, no run."""
    _, bundle, runner = bundle_env
    pipe = load_plugin("youlab_agents").Pipe()
    pipe._bundle = _async_value(bundle)
    answer = await pipe.pipe({"model": "youlab_agents.youlab:memory", "messages": [{"role": "user", "content": "all"}]},
                             __user__=user)
    assert answer == VIEW_MODELS[0].not_run and "does not answer messages" in answer
    assert "youlab:memory" not in answer and not runner.works


async def test_open_webuis_own_tasks_get_the_views_name_not_its_suffix(bundle_env) -> None:
    _, bundle, _ = bundle_env
    pipe = load_plugin("youlab_agents").Pipe()
    pipe._bundle = _async_value(bundle)
    answer = await pipe.pipe({"model": "youlab_agents.youlab:memory", "messages": []}, __user__=ADMIN,
                             __task__="title_generation")
    assert answer == '{"title": "Your memory"}'


def _async_value(value):
    async def get():
        return value
    return get


async def _guarded_post(path: str, body: dict) -> int:
    async def lookup(chat_id: str, model_id: str | None) -> AgentThreadInfo | None:
        return AgentThreadInfo(chat_id, MEMORY_TASK, "Your memory", sources=("registry",))

    app = Recorder()
    transport = httpx.ASGITransport(app=WriteGuardMiddleware(app, lookup, start_background=False))
    async with httpx.AsyncClient(transport=transport, base_url="http://owui") as client:
        return (await client.post(path, json=body)).status_code


async def test_the_views_actions_reach_the_view_and_messages_into_it_do_not() -> None:
    body = {"chat_id": memory_chat_id("stu-1", "college-essay"), "id": "m1", "model": VIEW_MODELS[0].model_id}
    for action in ("youlab_memory.edit", "youlab_memory.history", "youlab_review.approve_all"):
        assert await _guarded_post(f"/api/chat/actions/{action}", body) == 200, action
    assert await _guarded_post("/api/chat/actions/youlab_memoryx.edit", body) == 403
    assert await _guarded_post("/api/chat/completions", {**body, "messages": [{"role": "user", "content": "hi"}]}) == 403


async def test_the_view_is_written_under_its_own_model_and_an_older_view_moves_onto_it(bundle_env) -> None:
    _, bundle, _ = bundle_env
    course = bundle.courses.course("college-essay")
    chat_id, message_id, _ = await refresh(bundle, "stu-1", course)
    chat = bundle.backend.chats[chat_id]
    model = VIEW_MODELS[0].model_id
    assert chat.chat["models"] == [model] and chat.chat["history"]["messages"][message_id]["model"] == model
    # A view written before it had its own model named the course's first agent: the next refresh moves it.
    old = "youlab_agents.progression-grader"
    message = {**chat.chat["history"]["messages"][message_id], "model": old}
    await bundle.backend.update_chat_json(chat_id, {"models": [old], "history": {"messages": {message_id: message}},
                                                    "messages": [message]})
    await refresh(bundle, "stu-1", course)
    chat = bundle.backend.chats[chat_id]
    assert chat.chat["models"] == [model] and chat.chat["history"]["messages"][message_id]["model"] == model
    assert chat.chat["messages"][0]["model"] == model
