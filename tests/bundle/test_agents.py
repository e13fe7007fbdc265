"""The agents Pipe's logic that needs no Open WebUI: model list, task answers, refusals, the summary."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from types import SimpleNamespace

import pytest

from youlab_core.errors import PermissionDenied

from youlab_core.bundle import Given, agents, bundle_for, process, settings_from_values
from youlab_core.bundle.view_models import VIEW_MODELS
from youlab_core.threads import MemoryChats
from youlab_core.triggers import StaticGroupResolver
from youlab_core.runner.report import TaskRunReport, StudentReport

from .conftest import load_plugin


def test_every_task_is_a_model_named_after_its_display_name_then_each_view(bundle_env):
    _, bundle, _ = bundle_env
    assert agents.pipe_list(bundle) == [
        {"id": "progression-grader", "name": "Progression Grader"},
        {"id": "milestone-tracker", "name": "Milestone Tracker"},
        {"id": "youlab:memory", "name": "Your memory"},
        {"id": "youlab:dashboard", "name": "Course dashboard"},
    ]


def add_second_course(config_dir: Path) -> Path:
    """A copy of the shipped course under other ids, task names and tutor model."""
    shipped = (config_dir / "courses" / "college-essay" / "course.toml").read_text()
    text = (shipped.replace('id = "college-essay"', 'id = "history"').replace("college-essay-tutor", "history-tutor")
            .replace('"progression-grader"', '"history-grader"').replace('"milestone-tracker"', '"history-tracker"'))
    target = config_dir / "courses" / "history" / "course.toml"
    target.parent.mkdir(parents=True)
    target.write_text(text)
    return target


def break_file(path: Path) -> None:
    path.write_text(path.read_text() + "\n[broken\n")


def descriptions(bundle) -> dict[str, str]:
    return {r["id"]: r["meta"]["description"] for r in agents.desired_records(bundle)}


def test_records_are_hidden_with_the_review_action_and_show_config_problems(bundle_env, config_dir):
    _, bundle, _ = bundle_env
    records = {r["id"]: r for r in agents.desired_records(bundle)}
    record = records["youlab_agents.progression-grader"]
    assert record["meta"]["hidden"] is True and record["meta"]["actionIds"] == ["youlab_review"]
    assert {"principal_type": "user", "principal_id": "*", "permission": "read"} in record["access_grants"]
    assert "Configuration problems" not in record["meta"]["description"]
    break_file(config_dir / "courses" / "college-essay" / "course.toml")
    bundle.reload_config(force=True)
    records = {r["id"]: r for r in agents.desired_records(bundle)}
    description = records["youlab_agents.progression-grader"]["meta"]["description"]
    assert "Configuration problems: courses/college-essay/course.toml: not valid TOML" in description
    assert "courses/college-essay/course.toml: the last good version keeps running until the file is fixed" in description
    assert "youlab_agents.milestone-tracker" in records  # the last good version keeps running


def test_a_course_problem_shows_only_on_that_course_agents_without_server_paths(bundle_env, config_dir):
    _, bundle, _ = bundle_env
    history = add_second_course(config_dir)
    bundle.reload_config(force=True)
    assert "youlab_agents.history-grader" in descriptions(bundle)
    break_file(history)
    bundle.reload_config(force=True)
    found = descriptions(bundle)
    assert "Configuration problems: courses/history/course.toml: not valid TOML" in found["youlab_agents.history-grader"]
    assert "Configuration problems" not in found["youlab_agents.progression-grader"]
    assert "Configuration problems" not in found["youlab_agents.milestone-tracker"]
    assert not any(str(config_dir) in d or str(config_dir.parent) in d for d in found.values())


async def test_agents_that_cannot_run_say_so_plainly(tmp_path, config_dir):
    """A bundle whose settings name no model for the agents (no handler given, so build_parts makes a runner)."""
    valves = load_plugin("youlab_filter").Filter.Valves(config_dir=str(config_dir), storage_root=str(tmp_path / "no-model"))
    bundle = bundle_for(settings_from_values(valves), backend=MemoryChats(),
                        given=Given(group_resolver=StaticGroupResolver({})))
    parts = await bundle.start()
    try:
        assert parts is not None and parts.runner is None and parts.scheduler is None
        found = descriptions(bundle)
        views = {v.model_id for v in VIEW_MODELS}
        assert set(found) - views and views <= set(found)
        for model_id, description in found.items():
            problem = "Configuration problems: The agents cannot run: llm_model: no model id set (YOULAB_LLM_MODEL)."
            assert (problem in description) is (model_id not in views)  # a view never runs: no problem to show
    finally:
        await process.deactivate(grace_seconds=1)
        if parts is not None:
            parts.state.close()


def test_a_config_problem_is_logged_once_across_reloads(bundle_env, config_dir, caplog):
    _, bundle, _ = bundle_env
    with caplog.at_level(logging.WARNING):
        break_file(config_dir / "courses" / "college-essay" / "course.toml")
        for _ in range(4):
            bundle.reload_config(force=True)
            agents.desired_records(bundle)
    logged = [r for r in caplog.records if "not valid TOML" in r.getMessage()]
    assert len(logged) == 1 and str(config_dir) in logged[0].getMessage()


def test_open_webui_tasks_get_an_answer_without_a_run():
    assert json.loads(agents.task_answer("title_generation", "Quick After")) == {"title": "Quick After"}
    assert json.loads(agents.task_answer("tags_generation", "x")) == {"tags": []}
    assert agents.task_answer("query_generation", "x") == ""


async def test_non_admins_are_refused(bundle_env):
    _, bundle, _ = bundle_env
    with pytest.raises(PermissionDenied, match="only an administrator"):
        await agents.run_by_hand(bundle, "progression-grader", {"id": "stu-1", "role": "user"}, "me", None)


def test_summary_names_each_student_links_the_thread_and_gives_each_failure_reason():
    report = TaskRunReport("progression-grader", "college-essay", "manual")
    report.students.append(StudentReport("stu-1", "run-1", "progression-grader", "college-essay", "manual", status="succeeded", thread_chat_id="c1"))
    report.students.append(StudentReport("stu-2", "run-2", "progression-grader", "college-essay", "manual", status="failed",
                                         error="the memory service did not answer", thread_chat_id="c2"))
    report.students.append(StudentReport("stu-3", "run-3", "progression-grader", "college-essay", "manual", status="failed"))
    names = {"stu-1": ("Ada Lovelace", "ada@example.org"), "stu-2": ("Ben [admin](http://x)", "ben@example.org")}
    text = agents.render_summary("Progression Grader", report, ["no user with email x@y"], names)
    assert "1 succeeded, 2 failed, 0 skipped" in text
    lines = text.splitlines()
    assert "- Ada Lovelace (ada@example.org): succeeded, 0 change(s) · [open the thread](/c/c1)" in lines
    ben = next(line for line in lines if "ben@example.org" in line)
    assert "Ben \\[admin\\]\\(http://x\\)" in ben  # a name cannot make a link
    assert ben.endswith("· [open the thread](/c/c2) · why: the memory service did not answer")
    assert "- `stu-3`: failed, 0 change(s)" in lines  # no name found: the id, no thread link
    assert "stu-1" not in text and "not run: no user with email x@y" in text


async def test_people_looks_names_up_and_leaves_out_who_cannot_be_found(monkeypatch):
    users = {"stu-1": SimpleNamespace(id="stu-1", name="Ada", email="ada@example.org")}

    async def user_by_id(user_id):
        if user_id == "broken":
            raise RuntimeError("database is locked")
        return users.get(user_id)

    monkeypatch.setattr(agents.owui, "user_by_id", user_by_id)
    assert await agents.people(["stu-1", "nobody", "broken", "stu-1"]) == {"stu-1": ("Ada", "ada@example.org")}
