"""Every rejection names the file, the key path and the reason; all problems are reported at once."""

import pytest

from youlab_core.config import parse_course
from youlab_core.errors import ConfigError

FILE = "courses/x/course.toml"


def issues_of(text: str) -> list:
    with pytest.raises(ConfigError) as caught:
        parse_course(text, FILE)
    assert all(i.file == FILE for i in caught.value.issues)
    return caught.value.issues


def keys_of(text: str) -> dict[str, str]:
    return {i.key: i.reason for i in issues_of(text)}


def test_minimal_course_is_valid(minimal):
    course = parse_course(minimal, FILE)
    assert course.tasks[0].model_id == "youlab_agents.t1"
    assert course.field_spec("student", "tags").initial_value() == []


def test_unknown_key_is_named(minimal):
    keys = keys_of(minimal.replace('name = "t1"', 'name = "t1"\nschedul = "0 9 * * *"'))
    assert "unknown key" in keys["task[0].schedul"]


def test_unknown_key_in_query(minimal):
    keys = keys_of(minimal.replace('question = "What?"', 'question = "What?", mrege = "append"'))
    assert "task[0].queries[0].mrege" in keys


def test_bad_cron(minimal):
    keys = keys_of(minimal.replace('manual = true', 'schedule = "61 * * * *"'))
    assert "cron" in keys["task[0].schedule"]


def test_unknown_timezone(minimal):
    keys = keys_of(minimal.replace('manual = true', 'schedule = "0 9 * * *"\ntimezone = "Mars/Olympus"'))
    assert "Mars/Olympus" in keys["task[0].timezone"]


def test_target_names_missing_block(minimal):
    keys = keys_of(minimal.replace('target = "student.notes"', 'target = "journey.notes"'))
    assert "block 'journey' does not exist" in keys["task[0].queries[0].target"]


def test_target_names_missing_field(minimal):
    keys = keys_of(minimal.replace('target = "student.notes"', 'target = "student.nope"'))
    reason = keys["task[0].queries[0].target"]
    assert "no field 'nope'" in reason and "notes" in reason


def test_target_must_be_block_dot_field(minimal):
    keys = keys_of(minimal.replace('target = "student.notes"', 'target = "studentnotes"'))
    assert "task[0].queries[0].target" in keys


def test_merge_outside_its_set(minimal):
    keys = keys_of(minimal.replace('question = "What?"', 'question = "What?", merge = "overwrite"'))
    assert "append" in keys["task[0].queries[0].merge"]


def test_scope_outside_its_set(minimal):
    keys = keys_of(minimal.replace('question = "What?"', 'question = "What?", scope = "everything"'))
    assert "recent" in keys["task[0].queries[0].scope"]


def test_specific_scope_needs_sessions(minimal):
    keys = keys_of(minimal.replace('question = "What?"', 'question = "What?", scope = "specific"'))
    assert "sessions" in keys["task[0].queries[0]"]


@pytest.mark.parametrize(
    "setting, key",
    [
        ("after_messages = 0", "task[0].after_messages"),
        ("idle_threshold_minutes = -5", "task[0].idle_threshold_minutes"),
        ("idle_cooldown_minutes = 0", "task[0].idle_cooldown_minutes"),
        ("batch_size = 0", "task[0].batch_size"),
    ],
)
def test_thresholds_must_be_positive(minimal, setting, key):
    keys = keys_of(minimal.replace('manual = true', f"manual = true\n{setting}"))
    assert "greater than 0" in keys[key]


def test_query_recent_limit_positive(minimal):
    keys = keys_of(minimal.replace('question = "What?"', 'question = "What?", scope = "recent", recent_limit = 0'))
    assert "task[0].queries[0].recent_limit" in keys


def test_task_without_any_trigger(minimal):
    keys = keys_of(minimal.replace("manual = true", "manual = false"))
    assert "no trigger" in keys["task[0]"]


def test_duplicate_task_names(minimal):
    second = '\n[[task]]\nname = "t1"\nmanual = true\nqueries = [ { target = "student.notes", question = "Q" } ]\n'
    keys = keys_of(minimal + second)
    assert "duplicate task name 't1'" in keys["task[1].name"]


def test_merge_must_suit_the_field_type(minimal):
    text = minimal.replace('field.tags = { type = "list", max = 3 }', 'field.tags = { type = "list", max = 3 }\nfield.n = { type = "int" }')
    keys = keys_of(text.replace('target = "student.notes"', 'target = "student.n"'))
    assert "cannot write a int field" in keys["task[0].queries[0].merge"]


def test_field_default_must_match_type(minimal):
    keys = keys_of(minimal.replace('field.notes = { type = "string" }', 'field.notes = { type = "int", default = "x" }'))
    assert "not a int" in keys["block.student.field.notes"]


def test_field_type_outside_its_set(minimal):
    keys = keys_of(minimal.replace('field.notes = { type = "string" }', 'field.notes = { type = "text" }'))
    assert "block.student.field.notes.type" in keys


def test_default_outside_options(minimal):
    keys = keys_of(minimal.replace('field.notes = { type = "string" }', 'field.notes = { type = "string", options = ["a"], default = "b" }'))
    assert "not one of options" in keys["block.student.field.notes"]


def test_user_filter_union_reports_a_real_key(minimal):
    keys = keys_of(minimal.replace("manual = true", "manual = true\nuser_filter = 3"))
    assert set(keys) == {"task[0].user_filter"}


def test_missing_agent_section(minimal):
    keys = keys_of(minimal.replace('[agent]\nid = "demo"\nname = "Demo"\nmodels = ["demo-tutor"]\n', ""))
    assert keys["agent"] == "required key is missing"


def test_every_error_is_reported_at_once(minimal):
    text = (
        minimal.replace('manual = true', 'manual = true\nschedule = "nope"\ntimezone = "Nowhere/City"')
        .replace('target = "student.notes"', 'target = "student.ghost"')
        .replace('[block.student]', '[block.student]\ncolour = "red"')
    )
    keys = keys_of(text)
    assert {"task[0].schedule", "task[0].timezone", "task[0].queries[0].target", "block.student.colour"} <= set(keys)


def test_toml_syntax_error_names_the_line():
    issues = issues_of("[agent\nid = 1")
    assert "line 1" in issues[0].reason and "not valid TOML" in issues[0].reason


def test_issue_renders_file_key_and_reason(minimal):
    with pytest.raises(ConfigError) as caught:
        parse_course(minimal.replace("after", "after").replace('name = "t1"', 'name = "T 1"'), FILE)
    assert str(caught.value).startswith(f"{FILE}: task[0].name: ")


# --- [agent].teachers and teachers_read_memory (issue 13) ---


def test_teachers_default_to_none_and_privacy_off(minimal):
    course = parse_course(minimal, FILE)
    assert course.agent.teachers == []
    assert course.agent.teachers_read_memory is False


def test_teachers_are_group_names(minimal):
    text = minimal.replace('models = ["demo-tutor"]', 'models = ["demo-tutor"]\nteachers = ["Essay teachers", "Heads"]\n'
                           'teachers_read_memory = true')
    course = parse_course(text, FILE)
    assert course.agent.teachers == ["Essay teachers", "Heads"]
    assert course.agent.teachers_read_memory is True


@pytest.mark.parametrize(
    ("value", "reason"),
    [('[""]', "cannot be empty"), ('["group:Essay"]', "without 'group:'"), ('["A", "A"]', "more than once"),
     ('"Essay teachers"', "valid list")],
)
def test_bad_teachers_name_the_key(minimal, value, reason):
    keys = keys_of(minimal.replace('models = ["demo-tutor"]', f'models = ["demo-tutor"]\nteachers = {value}'))
    assert reason in keys["agent.teachers"]


def test_privacy_setting_must_be_bool(minimal):
    keys = keys_of(minimal.replace('models = ["demo-tutor"]', 'models = ["demo-tutor"]\nteachers_read_memory = "yes"'))
    assert "agent.teachers_read_memory" in keys


def test_reading_memory_without_teachers_is_refused(minimal):
    keys = keys_of(minimal.replace('models = ["demo-tutor"]', 'models = ["demo-tutor"]\nteachers_read_memory = true'))
    assert "names no teacher group" in keys["agent.teachers_read_memory"]


def test_misspelt_teachers_key_is_unknown(minimal):
    keys = keys_of(minimal.replace('models = ["demo-tutor"]', 'models = ["demo-tutor"]\nteacher = ["Essay teachers"]'))
    assert "unknown key" in keys["agent.teacher"]
