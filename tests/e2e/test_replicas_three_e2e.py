"""Three Open WebUI 0.12.4 replicas on PostgreSQL and Redis (issue 14's "two and three replicas"): with three
schedulers competing for every due run, each after_messages and cron occurrence still runs exactly once per
(task, student, due time), one run record and one thread; a replica killed with SIGKILL in the middle of a run leaves
it to one of the other two, which completes it once, while a student's chat on those two never fails.

One replica set for the module (tests/support/replicas.py, started as `scripts/run --replicas 3` starts it); the
tests run in file order and share students, the last one checks the invariants over every run they caused.
test_replicas_e2e.py covers the rest of the issue on two replicas (approvals, a rolling restart, the outage).
Shortened through the environment, as an operator would: scheduler tick 1 s, lease 25 s, retry backoff 5 s.
"""

from __future__ import annotations

import collections
import concurrent.futures
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

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
from youlab_core.launch import LaunchError
from youlab_core.threads.memory_view import MEMORY_TASK

pytestmark = pytest.mark.e2e

HERE = Path(__file__).parent
COURSE = "e2e-quick"
LEASE = 25
ENV = {
    "YOULAB_POLL_INTERVAL_SECONDS": "1",
    "YOULAB_POLL_JITTER_SECONDS": "0.5",
    "YOULAB_CLAIM_LEASE_SECONDS": str(LEASE),
    "YOULAB_RETRY_BACKOFF_SECONDS": "5",
    "YOULAB_SCHEDULER_SHUTDOWN_GRACE_SECONDS": "5",
}
STUDENTS: dict[str, Student] = {}


@pytest.fixture(scope="module")
def rs() -> Iterator[ReplicaSet]:
    try:
        with running_replicas(3, courses={COURSE: HERE / "courses" / COURSE}, environ=ENV) as replica_set:
            yield replica_set
    except LaunchError as exc:
        pytest.fail(f"the replicas did not start:\n{exc}", pytrace=False)


def test_students_on_rotating_replicas_get_one_after_messages_run_and_thread_each(rs: ReplicaSet) -> None:
    for name in ("Ada", "Ben", "Cyd"):
        STUDENTS[name] = new_student(rs, name, [f"My essay topic is the {name} family bakery.",
                                                "I apply to Reed College because of its thesis program."])
    for turn in range(3):  # each student's three messages reach the three replicas, one each
        for i, student in enumerate(STUDENTS.values()):
            assert say(rs, student, (turn + i) % 3, f"Message {turn} about my draft.")
    for student in STUDENTS.values():
        [run] = succeeded(rs, student, "quick-after", 1, 90)
        assert run.trigger == "after_messages"
        activity = rs.store().activity(student.id, COURSE)
        assert activity is not None and activity.message_count == 3  # every replica counted its one, none twice
        threads = rs.store().threads_for(student.id, "quick-after")
        assert [t.run_id for t in threads] == [run.id]
        assert [c["id"] for c in folder_chats(rs, student, 2)["quick-after"]] == [threads[0].chat_id]


def test_a_replica_killed_mid_run_leaves_the_run_to_another_which_completes_it_once(rs: ReplicaSet) -> None:
    word = f"zephyr{uuid.uuid4().hex[:6]}"
    dora = new_student(rs, "Dora", [f"My essay topic is the {word} lighthouse.", "I apply to Oberlin College."])
    STUDENTS["Dora"] = dora
    rs.demo.holds[word] = 60.0  # the agent's questions about Dora hang: the run stays in the middle until the kill
    rs.demo.held.clear()
    with Chatter(rs, STUDENTS["Ada"], [1, 2]) as chatter:  # on the two replicas that stay up
        for _ in range(3):
            assert say(rs, dora, 0, "Here is my next paragraph.")  # replica 1 answers and claims the run
        assert rs.demo.held.wait(60), "the run never asked about Dora"
        [running] = [r for r in runs_of(rs, dora, "quick-after") if r.status in ("claimed", "running")]
        pid = int((running.owner or "").split(":")[1])
        assert pid in rs.replicas[0].pids(), f"the run is not on replica 1: {running.owner}"
        killed_at = time.monotonic()
        rs.replicas[0].kill()  # not restarted: the rest of the module runs on replicas 2 and 3
        rs.demo.holds.clear()  # the replica that takes it over gets its answers at once
        [done] = succeeded(rs, dora, "quick-after", 1, LEASE + 90)
        taken_after = time.monotonic() - killed_at
    assert chatter.failures == [], chatter.failures  # replicas 2 and 3 answered every message meanwhile
    assert rs.replicas[0].pids() == set()
    assert taken_after >= LEASE - 5, f"taken over after {taken_after:.0f} s, before the {LEASE} s lease expired"
    assert (done.id, done.attempts) == (running.id, 2)  # the same run record, a second attempt
    assert done.owner != running.owner
    assert len(runs_of(rs, dora, "quick-after")) == 1
    threads = rs.store().threads_for(dora.id, "quick-after")
    assert [t.run_id for t in threads] == [done.id]  # one thread
    assert len(folder_chats(rs, dora, 2)["quick-after"]) == 1
    pending = {i: d for i, d in diffs_of(rs, dora).items() if d["agent"] == "quick-after"}
    assert done.diffs_proposed and len(pending) == done.diffs_proposed  # no lost proposal, none made twice
    assert any(word in str(d.get("proposed_value")) for d in pending.values())


def test_every_after_messages_and_cron_occurrence_ran_once_with_one_thread(rs: ReplicaSet) -> None:
    """Over everything above (and the per-minute runs that kept coming meanwhile, three schedulers competing for each
    until one was killed): one run record per (task, student, due time), none failed, exactly one thread per run,
    and the chats in the students' agent folders are exactly the registered threads (no unregistered duplicate)."""
    for student in STUDENTS.values():
        succeeded(rs, student, "quick-minute", 1, 90)
    runs = rs.store().list_runs(limit=100_000)
    mine = {s.id for s in STUDENTS.values()}
    ours = [r for r in runs if r.user_id in mine]
    keys = collections.Counter((r.task, r.user_id, r.due_at) for r in ours)
    assert [k for k, n in keys.items() if n > 1] == []
    assert [r for r in ours if r.status == "failed"] == []
    minute = [r for r in ours if r.task == "quick-minute"]
    assert minute and all(r.trigger != "after_messages" for r in minute)
    assert all(r.due_at is not None and r.due_at.second == 0 for r in minute)  # a cron fire's own due time
    for student in STUDENTS.values():
        threads = [t for t in rs.store().threads_for(student.id) if t.task != MEMORY_TASK]  # the memory view is no run
        per_run = collections.Counter(t.run_id for t in threads)
        assert [run for run, n in per_run.items() if n > 1] == []
        done = {r.id for r in runs_of(rs, student) if r.status == "succeeded"}
        assert done and done <= set(per_run), f"succeeded runs without a thread: {done - set(per_run)}"
        in_folders = {c["id"] for chats in folder_chats(rs, student, 2).values() for c in chats}
        assert in_folders == {t.chat_id for t in threads}
    with concurrent.futures.ThreadPoolExecutor(2) as pool:  # the two replicas left still answer
        assert all(pool.map(lambda i: say(rs, STUDENTS["Ada"], i, "Thanks!"), (1, 2)))
