"""`youlab status`, `youlab pause`, `youlab resume` on a real state store, course files and students'
repositories (the world of tests/test_dashboard.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from youlab_core.cli import main
from youlab_core.state import open_store
from tests.test_dashboard import World, make_world


@pytest.fixture
def world(tmp_path: Path) -> World:
    w = make_world(tmp_path)
    w.store.close()  # the command opens its own
    return w


def args(world: World, *rest: str) -> list[str]:
    return [*rest, "--config-dir", str(world.config_dir), "--storage-root", str(world.root)]


def test_table_shows_problems_failures_pauses_and_students(world: World, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(args(world, "status")) == 0
    out, err = capsys.readouterr()
    assert err == ""  # the problems are in the output, not logged a second time with server paths
    assert "NOT LOADED courses/broken/course.toml: task[0].schedul: unknown key" in out
    assert "Course essay (Essay); teachers: Essay teachers; teachers read memory: no" in out
    [grader] = [line for line in out.splitlines() if line.startswith("  Task grader")]
    assert grader.startswith("  Task grader [manual]: active; due ") and grader.endswith("running 0  FAILING")
    assert "Task no-manual [on_idle]: PAUSED by admin@example.org since" in out and "pause note: provider outage" in out
    assert "LLMError: upstream 503" in out and "LLMError: timeout" in out
    student_rows = {line.split()[0]: line.split() for line in out.splitlines() if line.startswith("    u")}
    # STUDENT, LAST ACTIVITY (date, time), MESSAGES, RUNS, FAILED, PROPOSED, APPROVED, REJECTED, WAITING, TIME TO DECIDE
    assert student_rows["u1"][3:10] == ["2", "1", "0", "3", "1", "1", "1"]
    assert student_rows["u1"][10] != "-"  # u1 decided changes: the median time it took
    assert student_rows["u2"][3:] == ["1", "2", "1", "1", "0", "0", "1", "-"]
    assert "A service it needs could not be reached (LLMError: upstream 503)" in out
    assert "WILL NOT RUN: No Manual is paused by admin@example.org (provider outage)" in out
    assert "Schedulers: none has ticked yet" in out
    assert out.splitlines()[-1] == "Outbox: honcho 0 queued, 0 dead, 0 overflowed; letta 0 queued, 0 dead, 0 overflowed"


def test_json_for_scripts(world: World, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(args(world, "status", "--course", "essay", "--json", "--runs", "1")) == 0
    data = json.loads(capsys.readouterr().out)
    [essay] = data["courses"]
    grader = essay["tasks"][0]
    assert (grader["task"], grader["failing"], [r["status"] for r in grader["runs"]]) == ("grader", True, ["retrying"])
    assert grader["runs"][0]["next_retry"] is not None
    assert [s["user"] for s in essay["students"]] == ["u1", "u2"]
    assert data["unloaded"] == []  # filtered to one course


def test_unknown_course_is_refused(world: World, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(args(world, "status", "--course", "nowhere")) == 2
    assert "no course 'nowhere' is loaded (courses: essay)" in capsys.readouterr().err


def test_pause_and_resume_record_who(world: World, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(args(world, "pause", "youlab_agents.grader", "--by", "teacher@example.org", "--note", "exams")) == 0
    assert "task grader paused by teacher@example.org" in capsys.readouterr().out
    assert main(args(world, "pause", "grader")) == 0
    assert "already paused" in capsys.readouterr().out
    assert main(args(world, "status", "--no-students")) == 0
    assert "Task grader [manual]: PAUSED by teacher@example.org" in capsys.readouterr().out
    assert main(args(world, "resume", "grader")) == 0
    assert "task grader resumed by " in capsys.readouterr().out
    store = open_store(url=world.url)
    try:
        assert not store.is_paused("grader")
        resume, pause = store.task_actions("grader")
        assert (pause.action, pause.actor, pause.note) == ("pause", "teacher@example.org", "exams")
        assert resume.action == "resume" and resume.actor.endswith("(command line)")
    finally:
        store.close()


def test_unknown_task_is_refused(world: World, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(args(world, "pause", "nope")) == 2
    assert "no task 'nope'" in capsys.readouterr().err


def test_json_has_health_actions_and_what_will_not_run(world: World, capsys: pytest.CaptureFixture[str]) -> None:
    store = open_store(url=world.url)
    try:
        store.record_heartbeat("host:7:abc")
        store.record_task_action("grader", "essay", "retry", "Ada (ada@example.org)", "run 1234 for u2")
    finally:
        store.close()
    assert main(args(world, "status", "--course", "essay", "--json", "--status", "failed")) == 0
    data = json.loads(capsys.readouterr().out)
    [essay] = data["courses"]
    assert {r["status"] for t in essay["tasks"] for r in t["runs"]} == {"failed"}  # the filter searched every run
    assert essay["actions"][0]["action"] == "retry" and essay["actions"][0]["by"] == "Ada (ada@example.org)"
    assert any("paused" in line for line in essay["will_not_run"])
    assert [s["process"] for s in data["health"]["schedulers"]] == ["host:7:abc"]
    assert "decide_seconds" in essay["students"][0]
    assert main(args(world, "runs", "--actions")) == 0
    out = capsys.readouterr().out
    assert "Ada (ada@example.org)" in out and "retry" in out and "run 1234 for u2" in out
    assert main(args(world, "runs", "--actions", "--json")) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [a["action"] for a in lines] == ["retry", "pause"]
