"""youlab_core.bundle.write_guard as an ASGI middleware in front of a recording app (the real Open WebUI routes are
exercised in tests/e2e/test_write_guard_e2e.py)."""

from __future__ import annotations

import json

import httpx
import pytest

from youlab_core.bundle.write_guard import WRITE_ROUTES, WriteGuardMiddleware
from youlab_core.threads.model import AgentThreadInfo

THREAD = "11111111-2222-3333-4444-555555555555"
PLAIN = "99999999-8888-7777-6666-555555555555"


class Recorder:
    """The app behind the guard: records what reached it, with the body it received."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, str, bytes]] = []

    async def __call__(self, scope, receive, send) -> None:
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        self.seen.append((scope["method"], scope["path"], body))
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]})
        await send({"type": "http.response.body", "body": b"{}"})


async def lookup(chat_id: str, model_id: str | None) -> AgentThreadInfo | None:
    if chat_id == THREAD:
        return AgentThreadInfo(THREAD, "progression-grader", "Progression Grader", sources=("registry",))
    return None


@pytest.fixture
def guarded():
    app = Recorder()
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=WriteGuardMiddleware(app, lookup, start_background=False)),
                               base_url="http://owui")
    return app, client


def request_for(method: str, path: str, chat: str) -> tuple[str, str, dict]:
    path = path.replace("{chat}", chat).replace("{message}", "m1").replace("{action}", "some_action")
    body = {"chat_id": chat, "model": "college-essay-tutor", "messages": [{"role": "user", "content": "hi"}],
            "chat": {"history": {"messages": {}}}}
    return method, path, body


ROUTE_TEMPLATES = [
    ("POST", "/api/v1/chats/{chat}"), ("POST", "/api/v1/chats/{chat}/messages/{message}"),
    ("DELETE", "/api/v1/chats/{chat}/messages/{message}"), ("POST", "/api/v1/chats/{chat}/messages/{message}/event"),
    ("POST", "/api/v1/chats/{chat}/messages/{message}/resolve"), ("POST", "/api/v1/chats/{chat}/compact"),
    ("PATCH", "/api/v1/chats/{chat}/params"), ("POST", "/api/chat/completions"), ("POST", "/api/v1/chat/completions"),
    ("POST", "/api/message"), ("POST", "/api/v1/messages"), ("POST", "/api/chat/completed"),
    ("POST", "/api/chat/actions/{action}"),
]


def test_every_write_route_is_listed_here() -> None:
    assert len(WRITE_ROUTES) == len(ROUTE_TEMPLATES)


@pytest.mark.parametrize("method,template", ROUTE_TEMPLATES)
async def test_each_write_route_is_refused_on_a_thread_and_passes_elsewhere(guarded, method, template) -> None:
    app, client = guarded
    async with client:
        m, path, body = request_for(method, template, THREAD)
        refused = await client.request(m, path, json=body)
        assert refused.status_code == 403
        assert refused.json()["detail"].startswith("This thread is written by the background agent Progression Grader")
        assert app.seen == []  # Open WebUI never saw it: nothing stored, no model called
        m, path, body = request_for(method, template, PLAIN)
        passed = await client.request(m, path, json=body)
        assert passed.status_code == 200
        assert [(s[0], s[1], json.loads(s[2])) for s in app.seen] == [(m, path, body)]  # the body reached the app


async def test_renaming_moving_pinning_archiving_deleting_a_thread_stay_allowed(guarded) -> None:
    app, client = guarded
    async with client:
        assert (await client.post(f"/api/v1/chats/{THREAD}", json={"chat": {"title": "My report"}})).status_code == 200
        for method, path in [("POST", f"/api/v1/chats/{THREAD}/folder"), ("POST", f"/api/v1/chats/{THREAD}/pin"),
                             ("POST", f"/api/v1/chats/{THREAD}/archive"), ("DELETE", f"/api/v1/chats/{THREAD}"),
                             ("POST", f"/api/v1/chats/{THREAD}/clone"), ("POST", f"/api/v1/chats/{THREAD}/tags"),
                             ("GET", f"/api/v1/chats/{THREAD}")]:
            assert (await client.request(method, path, json={})).status_code == 200, (method, path)
    assert len(app.seen) == 8


async def test_a_rename_that_carries_anything_else_is_refused(guarded) -> None:
    _, client = guarded
    async with client:
        for body in ({"chat": {"title": "x", "history": {}}}, {"chat": {"title": "x"}, "folder_id": "f"},
                     {"chat": {"title": "x"}, "variables": {}}, {"chat": {"models": ["gpt"]}}, {"chat": "x"}, []):
            assert (await client.post(f"/api/v1/chats/{THREAD}", json=body)).status_code == 403, body


async def test_the_review_action_reaches_the_thread_and_other_actions_do_not(guarded) -> None:
    app, client = guarded
    async with client:
        body = {"chat_id": THREAD, "id": "m1", "model": "youlab_agents.progression-grader"}
        assert (await client.post("/api/chat/actions/youlab_review.approve_all", json=body)).status_code == 200
        assert (await client.post("/api/chat/actions/youlab_review", json=body)).status_code == 200
        assert (await client.post("/api/chat/actions/youlab_reviewer", json=body)).status_code == 403
        assert (await client.post("/api/chat/actions/other_tool", json=body)).status_code == 403


async def test_the_chat_id_in_metadata_counts_too(guarded) -> None:
    _, client = guarded
    async with client:
        body = {"model": "m", "messages": [], "metadata": {"chat_id": THREAD}}
        assert (await client.post("/api/chat/completions", json=body)).status_code == 403


async def test_a_write_that_cannot_be_checked_is_refused(guarded) -> None:
    app = Recorder()

    async def broken(chat_id: str, model_id: str | None) -> None:
        raise RuntimeError("database is locked")

    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=WriteGuardMiddleware(app, broken, start_background=False)),
                               base_url="http://owui")
    async with client:
        answer = await client.post(f"/api/v1/chats/{PLAIN}/messages/m1", json={"content": "x"})
        assert answer.status_code == 503 and "database" not in answer.text  # no internal text to the caller
        assert (await client.get(f"/api/v1/chats/{PLAIN}")).status_code == 200  # reads are never checked
    assert [s[0] for s in app.seen] == ["GET"]


async def test_fixed_chat_routes_are_not_chat_ids(guarded) -> None:
    app, client = guarded
    looked_up: list[str] = []

    async def spy(chat_id: str, model_id: str | None) -> None:
        looked_up.append(chat_id)

    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=WriteGuardMiddleware(app, spy, start_background=False)),
                               base_url="http://owui")
    async with client:
        for word in ("new", "import", "config", "tags", "read"):
            assert (await client.post(f"/api/v1/chats/{word}", json={"chat": {}})).status_code == 200
    assert looked_up == []


async def test_a_client_cannot_pass_itself_off_as_an_automation(guarded) -> None:
    """Open WebUI's automations call the completion handler in-process; over HTTP, automation_id is always forged."""
    app, client = guarded
    async with client:
        body = {"model": "college-essay-tutor", "chat_id": PLAIN, "automation_id": "a1",
                "messages": [{"role": "user", "content": "hi"}]}
        assert (await client.post("/api/chat/completions", json=body)).status_code == 200
    [(_, _, received)] = app.seen
    assert json.loads(received) == {k: v for k, v in body.items() if k != "automation_id"}
