"""Two Open WebUI 0.12.4 replicas on PostgreSQL and Redis (issue 14): every agent run happens exactly once per
(task, student, due time), through a replica killed in the middle of a run, concurrent approvals, a rolling restart
and a 30-second outage of the state database.

One replica set for the module (tests/support/replicas.py), started as `scripts/run --replicas 2` starts it. The
tests run in file order and share students; the last one checks the invariants over every run they caused.
Shortened through the environment, as an operator would: scheduler tick 1 s, lease 40 s (longer than the outage,
as the default 600 s is in production), retry backoff 5 s.
"""

from __future__ import annotations

import asyncio
import collections
import concurrent.futures
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.e2e_chats import report_message
from tests.support.replicas import (
    Chatter,
    ReplicaSet,
    Student,
    diffs_of,
    folder_chats,
    new_student,
    running_replicas,
    runs_of,
    say,
    succeeded,
)
from tests.support.waiting import eventually_sync as eventually
from youlab_core.launch import LaunchError
from youlab_core.openwebui import OpenWebUIClient
from youlab_core.threads.memory_view import MEMORY_TASK

pytestmark = pytest.mark.e2e

HERE = Path(__file__).parent
COURSE = "e2e-quick"
LEASE = 40
ENV = {
    "YOULAB_POLL_INTERVAL_SECONDS": "1",
    "YOULAB_POLL_JITTER_SECONDS": "0.5",
    "YOULAB_CLAIM_LEASE_SECONDS": str(LEASE),
    "YOULAB_RETRY_BACKOFF_SECONDS": "5",
    "YOULAB_SCHEDULER_SHUTDOWN_GRACE_SECONDS": "5",
}


@pytest.fixture(scope="module")
def rs() -> Iterator[ReplicaSet]:
    try:
        with running_replicas(2, courses={COURSE: HERE / "courses" / COURSE}, environ=ENV) as replica_set:
            yield replica_set
    except LaunchError as exc:
        pytest.fail(f"the replicas did not start:\n{exc}", pytrace=False)


STUDENTS: dict[str, Student] = {}


def test_students_on_alternating_replicas_get_one_after_messages_run_each(rs: ReplicaSet) -> None:
    for name in ("Ada", "Ben", "Cyd"):
        STUDENTS[name] = new_student(rs, name, [f"My essay topic is the {name} family bakery.",
                                                "I apply to Reed College because of its thesis program."])
    for turn in range(3):  # each message on the other replica than the one before
        for i, student in enumerate(STUDENTS.values()):
            assert say(rs, student, (turn + i) % 2, f"Message {turn} about my draft.")
    for student in STUDENTS.values():
        [run] = succeeded(rs, student, "quick-after", 1, 90)
        assert run.trigger == "after_messages"
        activity = rs.store().activity(student.id, COURSE)
        assert activity is not None and activity.message_count == 3  # both replicas counted, nothing twice
        threads = rs.store().threads_for(student.id, "quick-after")
        assert [t.run_id for t in threads] == [run.id]
        assert [c["id"] for c in folder_chats(rs, student)["quick-after"]] == [threads[0].chat_id]


def test_a_replica_killed_mid_run_leaves_the_run_to_another_which_completes_it_once(rs: ReplicaSet) -> None:
    word = f"zephyr{uuid.uuid4().hex[:6]}"
    dora = new_student(rs, "Dora", [f"My essay topic is the {word} lighthouse.", "I apply to Oberlin College."])
    STUDENTS["Dora"] = dora
    rs.demo.holds[word] = 20.0  # the agent's questions about Dora take 20 s: the run is in the middle for that long
    rs.demo.held.clear()
    with Chatter(rs, STUDENTS["Ada"], [1]) as chatter:
        for _ in range(3):
            assert say(rs, dora, 0, "Here is my next paragraph.")  # replica 1 answers and claims the run
        assert rs.demo.held.wait(60), "the run never asked about Dora"
        [running] = [r for r in runs_of(rs, dora, "quick-after") if r.status in ("claimed", "running")]
        pid = int((running.owner or "").split(":")[1])
        assert pid in rs.replicas[0].pids(), f"the run is not on replica 1: {running.owner}"
        killed_at = time.monotonic()
        rs.replicas[0].kill()
        rs.demo.holds.clear()  # the replica that takes it over gets its answers at once
        rs.replicas[0].start(wait=False)  # back meanwhile, as an orchestrator restarts a crashed container
        [done] = succeeded(rs, dora, "quick-after", 1, LEASE + 90)
        taken_after = time.monotonic() - killed_at
        rs.replicas[0].wait()
    assert chatter.failures == [], chatter.failures  # the other replica answered every message meanwhile
    assert taken_after >= LEASE - 5, f"taken over after {taken_after:.0f} s, before the {LEASE} s lease expired"
    assert (done.id, done.attempts) == (running.id, 2)  # the same run record, a second attempt
    assert done.owner != running.owner
    assert len(runs_of(rs, dora, "quick-after")) == 1
    threads = rs.store().threads_for(dora.id, "quick-after")
    assert [t.run_id for t in threads] == [done.id]  # one thread
    assert len(folder_chats(rs, dora)["quick-after"]) == 1
    pending = {i: d for i, d in diffs_of(rs, dora).items() if d["agent"] == "quick-after"}
    assert done.diffs_proposed and len(pending) == done.diffs_proposed  # no lost proposal, none made twice
    assert any(word in str(d.get("proposed_value")) for d in pending.values())


def test_approvals_from_two_replicas_at_once_one_wins_the_other_is_told_why(rs: ReplicaSet) -> None:
    ada = STUDENTS["Ada"]
    change = next(i for i, d in diffs_of(rs, ada).items() if d["field"] == "topic")
    with rs.api(0, ada.token) as api:  # the newest report that lists this change (each later run lists it again)
        newest = sorted(folder_chats(rs, ada)["quick-after"], key=lambda c: c["created_at"], reverse=True)
        chat = next(full for c in newest
                    if (full := api.chats.get(c["id"])) and change in report_message(full)["content"])
    body = {"model": "youlab_agents.quick-after", "chat_id": chat["id"], "id": report_message(chat)["id"],
            "messages": [], "session_id": None,
            "youlab": {"decisions": [{"diff_id": change, "decision": "approve", "note": ""}]}}

    async def approve(replica: int) -> dict[str, Any]:
        async with OpenWebUIClient(rs.replicas[replica].url, token=ada.token, timeout=120.0) as c:
            return await c.request("POST", "/api/chat/actions/youlab_review.review", json=body)

    async def both() -> list[dict[str, Any]]:
        return list(await asyncio.gather(approve(0), approve(1)))

    answers = asyncio.run(both())
    results = sorted(a["youlab"]["results"][0] for a in answers)
    assert results.count(f"`{change}` approved.") == 1, results
    [other] = [r for r in results if r != f"`{change}` approved."]
    assert other.startswith(f"`{change}` was") and "already approved" in other, other
    assert {a["youlab"]["statuses"][change] for a in answers} == {"approved"}


def test_a_rolling_restart_loses_no_counted_message_and_no_due_run(rs: ReplicaSet) -> None:
    eve = new_student(rs, "Eve", ["My essay topic is the Eve orchard.", "I apply to Tufts University."])
    STUDENTS["Eve"] = eve
    ada = STUDENTS["Ada"]
    before = rs.store().activity(ada.id, COURSE)
    sent_before = ada.sent
    window_start = time.time()
    for restarting in (0, 1):  # one replica at a time; the students write to the one that is up
        up = 1 - restarting
        with Chatter(rs, ada, [up]) as chatter:
            rs.replicas[restarting].stop()
            for i in range(2 - restarting):  # Eve's third message, during the second restart, makes her run due
                assert say(rs, eve, up, f"Message {i} while replica {restarting + 1} restarts.")
            rs.replicas[restarting].start()
        assert chatter.failures == [], chatter.failures
    window_end = time.time()
    [run] = succeeded(rs, eve, "quick-after", 1, 90)
    assert run.trigger == "after_messages" and len(rs.store().threads_for(eve.id, "quick-after")) == 1
    # Every per-minute fire during the restarts ran for Ada (one record each; the last test checks "once").
    fires = [m for m in range(int(window_start // 60 + 1) * 60, int(window_end), 60)]

    def every_fire_ran() -> bool:
        ran = {int(r.due_at.timestamp()) for r in runs_of(rs, ada, "quick-minute")
               if r.status == "succeeded" and r.due_at is not None}
        return set(fires) <= ran

    eventually(every_fire_ran, 60, f"Ada's quick-minute runs for the fires at {fires}")
    def counted() -> bool:
        act = rs.store().activity(ada.id, COURSE)
        assert before is not None
        return act is not None and act.message_count - before.message_count == ada.sent - sent_before

    eventually(counted, 30, "every message answered during the restarts counted")


def test_the_state_database_down_for_30_seconds_chats_go_on_and_nothing_is_lost(rs: ReplicaSet) -> None:
    fay = new_student(rs, "Fay", ["My essay topic is the Fay harbour.", "I apply to Bard College."])
    STUDENTS["Fay"] = fay
    ben = STUDENTS["Ben"]
    store = rs.store()
    ben_before = store.activity(ben.id, COURSE)
    assert ben_before is not None
    sent_before = ben.sent
    rs.stop_state_db()
    down_at = time.monotonic()
    with Chatter(rs, ben, [0, 1]) as chatter:
        for i in range(3):  # Fay reaches her after_messages count while the database is down
            assert say(rs, fay, i % 2, f"Outage message {i}.")
        time.sleep(max(0.0, 30 - (time.monotonic() - down_at)))
        rs.start_state_db()
        [run] = succeeded(rs, fay, "quick-after", 1, 120)
    assert chatter.failures == [], chatter.failures  # counting failed open: every chat answered
    act = rs.store().activity(ben.id, COURSE)
    assert act is not None and act.message_count - ben_before.message_count == ben.sent - sent_before
    fay_act = rs.store().activity(fay.id, COURSE)
    assert fay_act is not None and fay_act.message_count == 3
    assert run.trigger == "after_messages" and len(runs_of(rs, fay, "quick-after")) == 1
    assert [t.run_id for t in rs.store().threads_for(fay.id, "quick-after")] == [run.id]


def test_every_run_happened_once_per_task_student_and_due_time(rs: ReplicaSet) -> None:
    """Over everything above (and the cron and idle runs that kept coming meanwhile): one run record per
    (task, student, due time), none failed, at most one thread per run, and the chats in the students' agent
    folders are exactly the registered threads (no unregistered duplicate)."""
    # The idle and per-minute agents have had well over a minute by now; wait for their first runs if not.
    for student in STUDENTS.values():
        succeeded(rs, student, "quick-minute", 1, 90)
    ada = STUDENTS["Ada"]
    succeeded(rs, ada, "quick-idle", 1, 120)
    runs = rs.store().list_runs(limit=100_000)
    mine = {s.id for s in STUDENTS.values()}
    keys = collections.Counter((r.task, r.user_id, r.due_at) for r in runs if r.user_id in mine)
    assert [k for k, n in keys.items() if n > 1] == []
    assert [r for r in runs if r.user_id in mine and r.status == "failed"] == []
    for student in STUDENTS.values():
        threads = [t for t in rs.store().threads_for(student.id) if t.task != MEMORY_TASK]  # the memory view is no run
        per_run = collections.Counter(t.run_id for t in threads)
        assert [run for run, n in per_run.items() if n > 1] == []
        in_folders = {c["id"] for chats in folder_chats(rs, student).values() for c in chats}
        assert in_folders == {t.chat_id for t in threads}
    with concurrent.futures.ThreadPoolExecutor(2) as pool:  # both replicas still answer
        assert all(pool.map(lambda i: say(rs, ada, i, "Thanks!"), (0, 1)))
