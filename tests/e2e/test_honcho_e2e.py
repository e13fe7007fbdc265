"""Honcho through a real Open WebUI 0.12.4: students' messages are mirrored, agents ask Honcho, an outage loses nothing.

A second Open WebUI (not the session's shared one, which runs without Honcho) is started the way an operator would:
`YOULAB_VALVE_HONCHO_URL` in scripts/run's environment, which the installer turns into the filter's `honcho_url`
valve. Honcho is the local test server (tests/servers/honcho_server.py) in this process, so the test reads what it
stored and can take it down.

Runtime: one Open WebUI start (15-120 s) plus the outage window. The window defaults to 60 s
(YOULAB_E2E_HONCHO_OUTAGE_SECONDS): long enough that the mirror's backoff grows past its first steps (its retry
interval is a quarter of the oldest message's wait), short enough for the file to stay near three minutes.
"""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from tests.servers.honcho_server import HonchoTestServer
from tests.support.openwebui_stack import OpenWebUIHandle, running_openwebui
from tests.support.waiting import eventually
from youlab_core.dialectic import TUTOR_PEER_ID, honcho_peer_id, honcho_session_id
from youlab_core.launch import LaunchError
from youlab_core.memory import MemoryStore
from youlab_core.openwebui import OpenWebUIClient
from youlab_core.state import open_store

pytestmark = pytest.mark.e2e

OUTAGE_SECONDS = float(os.environ.get("YOULAB_E2E_HONCHO_OUTAGE_SECONDS", "60"))
MIRROR_DEADLINE = 15.0  # "within a few seconds": the mirror polls every second; slack for a loaded machine
WORKSPACE = "youlab"
TASK = "progression-grader"


@pytest.fixture(scope="module")
def honcho() -> Iterator[HonchoTestServer]:
    with HonchoTestServer() as server:
        yield server


@pytest.fixture(scope="module")
def owui(honcho: HonchoTestServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[OpenWebUIHandle]:
    try:
        with running_openwebui(tmp_path_factory.mktemp("openwebui-honcho"),
                               environ={"YOULAB_VALVE_HONCHO_URL": honcho.url}) as handle:
            handle.api.models.available(refresh=True)  # Open WebUI caches its model list until a refresh
            yield handle
    except LaunchError as exc:
        pytest.fail(f"Open WebUI with Honcho did not start:\n{exc}", pytrace=False)


class StudentChat:
    """One saved chat with the course tutor, continued turn by turn the way the page sends it."""

    def __init__(self, client: OpenWebUIClient, model: str):
        self.client = client
        self.model = model
        self.chat_id = ""
        self.parent: str | None = None
        self.history: list[dict[str, str]] = []
        self.expected: list[tuple[str, str]] = []  # (role, text) in the order the student saw them

    async def say(self, text: str) -> str:
        if not self.chat_id:
            created = await self.client.chats.new({"title": "Essay", "models": [self.model],
                                                   "history": {"currentId": None, "messages": {}}, "messages": []})
            self.chat_id = created["id"]
        user_id, reply_id = str(uuid.uuid4()), str(uuid.uuid4())
        self.history.append({"role": "user", "content": text})
        reply = await self.client.chat_completion({
            "model": self.model, "messages": list(self.history), "chat_id": self.chat_id, "id": reply_id,
            "parent_id": self.parent,
            "user_message": {"id": user_id, "parentId": self.parent, "role": "user", "content": text,
                             "models": [self.model]},
        })
        answer = str(reply["choices"][0]["message"]["content"])
        assert answer, reply
        self.history.append({"role": "assistant", "content": answer})
        self.expected += [("user", text), ("assistant", answer)]
        self.parent = reply_id
        return answer


def mirrored(honcho: HonchoTestServer, chat_id: str) -> list[tuple[str, str]]:
    """(role, text) of what Honcho stored for this chat, in the order it stored them."""
    stored = list(honcho.store.messages.get((WORKSPACE, honcho_session_id(chat_id)), []))
    return [("assistant" if m["peer_id"] == TUTOR_PEER_ID else "user", m["content"]) for m in stored]


def outbox(owui: OpenWebUIHandle) -> Any:
    store = open_store(url=f"sqlite:///{owui.storage_root / 'state.db'}")
    try:
        return store.outbox_stats()
    finally:
        store.close()


async def wait_mirrored(honcho: HonchoTestServer, owui: OpenWebUIHandle, chat: StudentChat, timeout: float) -> None:
    try:
        await eventually(lambda: len(mirrored(honcho, chat.chat_id)) >= len(chat.expected), timeout,
                         f"{len(chat.expected)} messages of chat {chat.chat_id} in Honcho", interval=0.25)
    except AssertionError as exc:
        lines = [line for line in owui.log_text().splitlines() if "youlab" in line.lower() or "honcho" in line.lower()]
        raise AssertionError(
            f"{exc}\nin Honcho: {mirrored(honcho, chat.chat_id)}\noutbox: {outbox(owui)}\n"
            f"Honcho requests: {len(honcho.requests)}\nOpen WebUI log (YouLab lines):\n" + "\n".join(lines[-40:])
        ) from None


@pytest.fixture(scope="module")
def student(owui: OpenWebUIHandle) -> tuple[dict[str, Any], str]:
    return owui.make_student("Honcho Hana")


def test_the_valve_from_the_environment_reaches_the_filter(owui: OpenWebUIHandle, honcho: HonchoTestServer):
    assert owui.api.functions.get_valves("youlab_filter")["honcho_url"] == honcho.url


async def test_a_students_messages_and_the_tutors_replies_reach_honcho(owui, honcho, student):
    user, token = student
    async with owui.client(token) as c:
        chat = StudentChat(c, owui.tutor_model)
        for text in ("My story is about my grandmother's bakery, where I learned patience.",
                     "I finished a first draft last night; the ending is weak.",
                     "I grew up in Ohio and I love baking and robotics."):
            started = time.monotonic()
            await chat.say(text)
            assert time.monotonic() - started < 30  # the chat never waits on Honcho
        await wait_mirrored(honcho, owui, chat, MIRROR_DEADLINE)
    assert mirrored(honcho, chat.chat_id) == chat.expected
    stored = honcho.store.messages[(WORKSPACE, honcho_session_id(chat.chat_id))]
    assert {m["peer_id"] for m in stored} == {honcho_peer_id(user["id"]), TUTOR_PEER_ID}
    assert honcho.store.sessions[(WORKSPACE, honcho_session_id(chat.chat_id))]["metadata"] == {
        "chat_id": chat.chat_id, "user_id": user["id"]}


async def test_an_agent_run_asks_honcho(owui, honcho, student):
    user, _ = student
    peer = honcho_peer_id(user["id"])
    assert any(m["peer_id"] == peer for m in honcho.store.all_messages(WORKSPACE)), "nothing mirrored to ask about"
    before = len(honcho.calls("chat"))
    reply = owui.api.chat_completion({"model": f"youlab_agents.{TASK}",
                                      "messages": [{"role": "user", "content": user["id"]}]})
    assert "choices" in reply, reply
    summary = reply["choices"][0]["message"]["content"]
    assert "1 succeeded" in summary, summary
    asked = [r for r in honcho.calls("chat")[before:] if f"/peers/{peer}/chat" in r.path]
    assert len(asked) >= 4 and all(r.status == 200 for r in asked), [(r.path, r.status) for r in asked]
    assert {"What is blocking the student right now?"} <= {r.body["query"] for r in asked}
    diffs = MemoryStore(owui.storage_root / "users").student(user["id"]).list_diffs(status="pending")
    # Honcho's answers come from the mirrored messages: the student's own words end up in the proposals.
    assert any("bakery" in str(d.proposed_value) for d in diffs), [d.proposed_value for d in diffs]


async def test_an_outage_loses_no_message_and_keeps_each_chats_order(owui, honcho):
    students = [owui.make_student(name) for name in ("Outage Olu", "Outage Pia")]
    clients = [owui.client(token) for _, token in students]
    chats = [StudentChat(c, owui.tutor_model) for c in clients]
    try:
        for chat in chats:  # both chats exist in Honcho before it goes away
            await chat.say("Hello, I am starting my college essay.")
            await wait_mirrored(honcho, owui, chat, MIRROR_DEADLINE)
        honcho.down()  # first half: 503 for every request
        started = time.monotonic()
        rounds = 4
        for i in range(rounds):
            if i == rounds // 2:
                honcho.down(close=True)  # second half: unreachable (connections dropped unanswered)
            for n, chat in enumerate(chats):
                await chat.say(f"Outage turn {i} of student {n}: my essay is about the ocean, draft {i}.")
            await asyncio.sleep(max(0.0, started + OUTAGE_SECONDS * (i + 1) / rounds - time.monotonic()))
        assert outbox(owui).queued >= 2 * rounds * len(chats) > 0  # waiting, not dropped
        assert all(len(mirrored(honcho, c.chat_id)) == 2 for c in chats)  # nothing got through meanwhile
        honcho.up()
        for chat in chats:  # the mirror polls less often the longer the wait: at most a quarter of it
            await wait_mirrored(honcho, owui, chat, OUTAGE_SECONDS / 4 + MIRROR_DEADLINE)
        for chat in chats:
            assert mirrored(honcho, chat.chat_id) == chat.expected  # every message once, in the chat's order
        stats = outbox(owui)
        assert stats.queued == 0 and stats.dead == 0, stats
    finally:
        honcho.up()
        for c in clients:
            await c.aclose()


async def test_a_honcho_url_saved_in_the_admin_panel_takes_effect_without_a_restart(owui, honcho):
    """Valves saved through Open WebUI's API (what the admin panel does) reach the running mirror within seconds:
    the next messages go to the new Honcho, with no restart and no message needed to notice the change."""
    with HonchoTestServer() as second:
        owui.api.functions.merge_valves("youlab_filter", {"honcho_url": second.url})
        try:
            await asyncio.sleep(8)  # no chat meanwhile: the watcher alone must switch (config_check_seconds is 3 s)
            log = owui.log_text()
            assert "background parts restart with the new settings" in log, log[-3000:]
            _, token = owui.make_student("Valve Vic")
            async with owui.client(token) as c:
                chat = StudentChat(c, owui.tutor_model)
                await chat.say("My essay is about the night I fixed my neighbour's radio.")
                await wait_mirrored(second, owui, chat, MIRROR_DEADLINE)
            assert mirrored(second, chat.chat_id) == chat.expected
            assert mirrored(honcho, chat.chat_id) == []
        finally:
            owui.api.functions.merge_valves("youlab_filter", {"honcho_url": honcho.url})
