"""`youlab_core.dashboard`: the figures of a course (problems, tasks with their latest runs, students' progress,
outbox backlogs) computed from a real state store, course files and students' repositories."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest

from youlab_core.config import CourseRegistry, parse_course
from youlab_core.dashboard import access, course_status, failure_reason, format_duration
from youlab_core.dashboard_students import student_page
from youlab_core.memory import MemoryStore
from youlab_core.state import Retry, SqlStateStore, open_store
from youlab_core.triggers import FakeClock
from tests.dialectic.fakes import COURSE_TOML, T0, course
from tests.support.courses import course_toml, task, write_course

ESSAY = COURSE_TOML.replace('models = ["essay-tutor"]', 'models = ["essay-tutor"]\nteachers = ["Essay teachers"]')
USAGE = json.dumps({"prompt_tokens": 100, "completion_tokens": 20})


@dataclass
class World:
    root: Path  # storage root: state.db and users/
    config_dir: Path
    store: SqlStateStore
    registry: CourseRegistry
    clock: FakeClock

    @property
    def url(self) -> str:
        return f"sqlite:///{self.root / 'state.db'}"


def run_row(run_id: str, user: str, status: str, minutes: int, **extra: object) -> dict[str, object]:
    at = (T0 + timedelta(minutes=minutes)).timestamp()
    return {"id": run_id, "task": "grader", "course_id": "essay", "user_id": user, "trigger": "schedule",
            "claimed_at": at, "started_at": at + 1, "status": status, "attempts": 1, **extra}


def make_world(tmp_path: Path) -> World:
    """Course essay (teachers "Essay teachers") plus a broken second course file; students u1, u2 with activity,
    runs (u2's latest waits for its retry) and decisions in their repositories; no-manual paused."""
    root, config_dir = tmp_path / "root", tmp_path / "config"
    write_course(config_dir, ESSAY, folder="essay")
    write_course(config_dir, course_toml("broken", tasks=[task("b1")]).replace('name = "b1"', 'name = "b1"\nschedul = "x"'),
                 folder="broken")
    registry = CourseRegistry(config_dir)
    registry.reload()
    clock = FakeClock(T0 + timedelta(hours=1))
    root.mkdir()
    store = open_store(url=f"sqlite:///{root / 'state.db'}", clock=clock)
    store.record_message("u1", "essay", T0)
    store.record_message("u1", "essay", T0 + timedelta(minutes=3))
    store.record_message("u2", "essay", T0 + timedelta(minutes=1))
    store.create_runs([
        run_row("r1", "u1", "succeeded", 0, finished_at=(T0 + timedelta(seconds=61)).timestamp(), token_usage=USAGE,
                diffs_proposed=2),
        run_row("r2", "u2", "failed", 10, attempts=3, error="LLMError: upstream 503"),
        run_row("r3", "u2", "retrying", 20, error="LLMError: timeout"),
    ])
    claim = store.claim_user("grader", "essay", "u2", "schedule", "w", T0, 300, messages=1)
    assert claim is not None
    store.settle_claims("grader", [], [Retry("u2", claim.token, T0 + timedelta(hours=3))])  # r3 waits for its retry
    store.pause_task("no-manual", "essay", "admin@example.org", note="provider outage")
    memory = MemoryStore(root / "users")
    targets = [("journey", "notes"), ("student", "insights"), ("student", "profile")]
    for user, values in (("u1", ["a", "b", "c"]), ("u2", ["d"])):
        student = memory.student(user)
        diffs = [student.propose(course(), agent="grader", run_id="r", block=block, field=name,
                                 operation="replace", proposed_value=v, reasoning="", confidence="medium",
                                 source_query="Q?") for (block, name), v in zip(targets, values, strict=False)]
        if user == "u1":
            student.approve(diffs[0].id, reviewer="student:u1", course=course())
            student.reject(diffs[1].id, reviewer="student:u1")
    return World(root, config_dir, store, registry, clock)


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    w = make_world(tmp_path)
    yield w
    w.store.close()


def test_tasks_runs_and_the_failing_mark(world: World) -> None:
    status = course_status(world.store, world.registry, world.clock.now(), users_root=world.root / "users")
    [essay] = status.courses
    assert (essay.course_id, essay.teachers, essay.teachers_read_memory) == ("essay", ["Essay teachers"], False)
    grader, no_manual = essay.tasks
    assert grader.failing and not no_manual.failing
    assert [line.run.id for line in grader.runs] == ["r3", "r2", "r1"]
    retrying, failed, ok = grader.runs
    assert retrying.next_retry == T0 + timedelta(hours=3) and failed.next_retry is None
    row = ok.as_json()
    assert (row["duration_seconds"], row["tokens"], row["trigger"]) == (60.0, 120, "schedule")
    assert failed.as_json()["error"] == "LLMError: upstream 503"
    assert grader.paused is None and no_manual.paused is not None
    assert no_manual.as_json()["paused"]["by"] == "admin@example.org"
    assert no_manual.triggers == ["on_idle"] and grader.triggers == ["manual"]


def test_a_success_after_failures_clears_the_mark(world: World) -> None:
    world.store.create_runs([run_row("r4", "u2", "succeeded", 30)])
    [essay] = course_status(world.store, world.registry, world.clock.now(), students=False).courses
    assert not essay.tasks[0].failing and essay.students is None


def test_students_progress_counts_not_values(world: World) -> None:
    [essay] = course_status(world.store, world.registry, world.clock.now(), users_root=world.root / "users").courses
    u1, u2 = essay.students or []
    assert (u1.user_id, u1.messages, u1.last_activity, u1.runs, u1.failed_runs) == ("u1", 2, T0 + timedelta(minutes=3), 1, 0)
    assert (u1.proposed, u1.approved, u1.rejected, u1.waiting) == (3, 1, 1, 1)
    assert (u2.runs, u2.failed_runs, u2.proposed, u2.waiting, u2.approved) == (2, 1, 1, 1, 0)
    text = json.dumps(course_status(world.store, world.registry, world.clock.now(),
                                    users_root=world.root / "users").as_json())
    assert '"a"' not in text and '"d"' not in text  # no proposed value appears anywhere


def test_each_task_shows_what_its_changes_became_and_the_approval_rate(world: World) -> None:
    [essay] = course_status(world.store, world.registry, world.clock.now(), users_root=world.root / "users").courses
    grader = next(t for t in essay.tasks if t.task == "grader")
    assert grader.decisions is not None
    assert (grader.decisions.proposed, grader.decisions.approved, grader.decisions.rejected,
            grader.decisions.pending) == (4, 1, 1, 2)
    assert grader.decisions.approval_rate == 0.5
    assert grader.as_json()["decisions"]["approval_rate"] == 0.5
    others = [t for t in essay.tasks if t.task != "grader"]
    assert all(t.decisions is not None and t.decisions.proposed == 0 for t in others)


def test_problems_outbox_and_course_filter(world: World) -> None:
    world.store.outbox_enqueue({"m": 1}, queue="letta")
    status = course_status(world.store, world.registry, world.clock.now())
    [problem] = status.unloaded
    assert (problem.file, problem.key) == ("courses/broken/course.toml", "task[0].schedul")
    assert "unknown key" in problem.reason
    assert (status.outbox["letta"].queued, status.outbox["honcho"].queued) == (1, 0)
    assert course_status(world.store, world.registry, world.clock.now(), course="nowhere").courses == []


def test_a_broken_loaded_course_lists_its_problems(world: World) -> None:
    path = world.config_dir / "courses" / "essay" / "course.toml"
    path.write_text(path.read_text().replace('teachers = ["Essay teachers"]', 'teachers = [""]'))
    world.registry.reload()
    [essay] = course_status(world.store, world.registry, world.clock.now(), course="essay").courses
    [problem] = essay.problems  # the last good version keeps running, so the course is still listed
    assert (problem.file, problem.key) == ("courses/essay/course.toml", "agent.teachers")


def test_access_admin_teacher_of_the_course_and_everyone_else(world: World) -> None:
    essay = world.registry.course("essay")
    admin = access(essay, role="admin", groups=set(), admin_chat_access=True)
    assert (admin.allowed, admin.role, admin.reads_values) == (True, "admin", True)
    assert not access(essay, role="admin", groups=set(), admin_chat_access=False).reads_values
    teacher = access(essay, role="user", groups={"Essay teachers", "Other"}, admin_chat_access=True)
    assert (teacher.allowed, teacher.role, teacher.reads_values) == (True, "teacher", False)  # privacy default: off
    other_teacher = access(essay, role="user", groups={"Math teachers"}, admin_chat_access=True)
    student = access(essay, role="user", groups=set(), admin_chat_access=True)
    assert not other_teacher.allowed and not student.allowed and not student.reads_values


def test_access_when_the_course_lets_teachers_read_values() -> None:
    text = ESSAY.replace('teachers = ["Essay teachers"]', 'teachers = ["Essay teachers"]\nteachers_read_memory = true')
    essay = parse_course(text, "essay.toml")
    assert access(essay, role="user", groups={"Essay teachers"}, admin_chat_access=False).reads_values


def test_failure_reasons_read_in_plain_words_then_the_first_recorded_line() -> None:
    assert failure_reason("LLMError: upstream 503\nTraceback (most recent call last): ...") == \
        "A service it needs could not be reached (LLMError: upstream 503)"
    assert failure_reason("httpx.ReadTimeout: timed out").startswith("It waited too long for an answer")
    assert failure_reason("ConfigError: llm_model: no model id set").startswith("Its language model is not set up")
    assert failure_reason("course 'x' has no task 'y' any more").startswith("Its course or task is no longer")
    assert failure_reason("a plain sentence nobody foresaw") == "a plain sentence nobody foresaw"
    assert failure_reason(None) == "no reason was recorded" and len(failure_reason("x" * 500)) == 160
    assert [format_duration(s) for s in (None, 4.25, 185, 7800, 90000)] == ["-", "4.2s", "3m05s", "2h10m", "1d1h"]


def test_health_what_will_not_run_who_did_what_and_time_to_decide(world: World) -> None:
    world.store.record_heartbeat("host:1:a")
    world.store.record_task_action("grader", "essay", "run", "Ada (ada@example.org)", "for 2 student(s)")
    status = course_status(world.store, world.registry, world.clock.now(), users_root=world.root / "users",
                           agents_problem="llm_model: no model id set")
    [essay] = status.courses
    assert essay.blocked == ["No agent runs: llm_model: no model id set.", "Grader runs only by hand.",
                             "No Manual is paused by admin@example.org (provider outage): it counts but starts no run."]
    assert [(a.action, a.actor) for a in essay.actions] == [("run", "Ada (ada@example.org)"),
                                                           ("pause", "admin@example.org")]
    assert [b.owner for b in status.health.heartbeats] == ["host:1:a"]
    assert set(status.health.problems_since) == {"courses/broken/course.toml"}  # since the file's last change
    u1, u2 = essay.students or []
    assert u1.decide_seconds is not None and u1.decide_seconds >= 0 and u2.decide_seconds is None


def test_a_page_of_students_reads_only_the_page(world: World) -> None:
    total, page = student_page(world.store, world.registry.course("essay"), world.root / "users", limit=1)
    assert total == 2 and [(s.user_id, s.runs, s.approved, s.waiting) for s in page] == [("u1", 1, 1, 1)]
    total, page = student_page(world.store, world.registry.course("essay"), world.root / "users", limit=5, offset=1)
    assert [(s.user_id, s.failed_runs, s.waiting) for s in page] == [("u2", 1, 1)]
