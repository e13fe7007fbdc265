"""The agents Pipe's logic that needs no Open WebUI: model list, task answers, refusals, the summary."""

from __future__ import annotations

import json

import pytest

from youlab_core.bundle import agents
from youlab_core.runner.report import RunReport, StudentReport


def test_every_task_is_a_model_named_after_its_display_name(bundle_env):
    _, bundle, _ = bundle_env
    assert agents.pipe_list(bundle) == [
        {"id": "progression-grader", "name": "Progression Grader"},
        {"id": "milestone-tracker", "name": "Milestone Tracker"},
    ]


def test_records_are_hidden_with_the_review_action_and_show_config_problems(bundle_env, config_dir):
    _, bundle, _ = bundle_env
    records = {r["id"]: r for r in agents.desired_records(bundle)}
    record = records["youlab_agents.progression-grader"]
    assert record["meta"]["hidden"] is True and record["meta"]["actionIds"] == ["youlab_review"]
    assert {"principal_type": "user", "principal_id": "*", "permission": "read"} in record["access_grants"]
    course_file = config_dir / "courses" / "college-essay" / "course.toml"
    course_file.write_text(course_file.read_text() + "\n[broken\n")
    bundle.reload_config(force=True)
    records = {r["id"]: r for r in agents.desired_records(bundle)}
    assert "Configuration problems" in records["youlab_agents.progression-grader"]["meta"]["description"]
    assert "youlab_agents.milestone-tracker" in records  # the last good version keeps running


def test_open_webui_tasks_get_an_answer_without_a_run():
    assert json.loads(agents.task_answer("title_generation", "Quick After")) == {"title": "Quick After"}
    assert json.loads(agents.task_answer("tags_generation", "x")) == {"tags": []}
    assert agents.task_answer("query_generation", "x") == ""


async def test_non_admins_are_refused(bundle_env):
    _, bundle, _ = bundle_env
    with pytest.raises(PermissionError, match="only an administrator"):
        await agents.run_by_hand(bundle, "progression-grader", {"id": "stu-1", "role": "user"}, "me", None)


def test_summary_names_each_student():
    report = RunReport("progression-grader", "college-essay", "manual")
    report.students.append(StudentReport("stu-1", "run-1", "progression-grader", "college-essay", "manual", status="succeeded", thread_chat_id="c1"))
    text = agents.render_summary("Progression Grader", report, ["no user with email x@y"])
    assert "1 succeeded, 0 failed, 0 skipped" in text and "`stu-1`: succeeded" in text and "/c/c1" in text
    assert "not run: no user with email x@y" in text
