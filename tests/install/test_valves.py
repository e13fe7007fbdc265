import pytest

from youlab_core.install.valves import (
    ValveError,
    ValveSetting,
    coerce,
    desired_valves,
    display,
    is_sensitive,
    parse_valve_args,
    unmatched,
    valves_from_env,
)

SPEC = {
    "properties": {
        "config_dir": {"type": "string", "default": "config"},
        "priority": {"type": "integer", "default": 0},
        "inject_memory": {"type": "boolean", "default": False},
        "honcho_api_key": {"type": "string", "default": "", "input": {"type": "password"}},
        "letta_url": {"anyOf": [{"type": "string"}, {"type": "null"}], "default": None},
        "ratio": {"type": "number", "default": 0.5},
    }
}


def test_parse_flags_with_and_without_function() -> None:
    assert parse_valve_args(["config_dir=/x", "youlab_filter.priority=3", "a=b=c"]) == [
        ValveSetting("config_dir", "/x", None),
        ValveSetting("priority", "3", "youlab_filter"),
        ValveSetting("a", "b=c", None),
    ]


@pytest.mark.parametrize("bad", ["novalue", "=x", ""])
def test_bad_flag_is_an_error_naming_it(bad: str) -> None:
    with pytest.raises(ValveError, match="NAME=VALUE"):
        parse_valve_args([bad])


def test_env_valves() -> None:
    got = valves_from_env({"YOULAB_VALVE_CONFIG_DIR": "/c", "YOULAB_VALVE_": "x", "OTHER": "y"})
    assert got == [ValveSetting("config_dir", "/c", None, "YOULAB_VALVE_CONFIG_DIR")]


def test_coerce_by_schema_type() -> None:
    props = SPEC["properties"]
    assert coerce("7", props["priority"], "w") == 7
    assert coerce("yes", props["inject_memory"], "w") is True
    assert coerce("0", props["inject_memory"], "w") is False
    assert coerce("0.25", props["ratio"], "w") == 0.25
    assert coerce("", props["letta_url"], "w") is None
    assert coerce("http://x", props["letta_url"], "w") == "http://x"
    with pytest.raises(ValveError, match="youlab_filter.priority.*integer"):
        coerce("seven", props["priority"], "--valve youlab_filter.priority")
    with pytest.raises(ValveError, match="boolean"):
        coerce("maybe", props["inject_memory"], "w")


def test_desired_valves_only_changes_what_differs() -> None:
    current = {"config_dir": "/c"}
    settings = [ValveSetting("CONFIG_DIR", "/c"), ValveSetting("priority", "2")]
    wanted, changed = desired_valves("youlab_filter", SPEC, current, settings)
    assert wanted == {"config_dir": "/c", "priority": 2}
    assert changed == ["priority"]
    again, changed_again = desired_valves("youlab_filter", SPEC, wanted, settings)
    assert again == wanted and changed_again == []


def test_setting_equal_to_the_default_is_not_written() -> None:
    wanted, changed = desired_valves("f", SPEC, {}, [ValveSetting("priority", "0")])
    assert wanted == {} and changed == []


def test_function_targeted_setting_skips_other_functions() -> None:
    wanted, changed = desired_valves("youlab_agents", SPEC, {}, [ValveSetting("priority", "5", "youlab_filter")])
    assert changed == []


def test_unmatched_required_settings_are_reported_optional_ones_not() -> None:
    specs = {"youlab_filter": SPEC, "youlab_review": None}
    settings = [
        ValveSetting("priority", "1"),
        ValveSetting("nope", "1"),
        ValveSetting("config_dir", "1", "youlab_review"),
        ValveSetting("storage_root", "/s", required=False),
    ]
    assert [s.name for s in unmatched(settings, specs)] == ["nope", "config_dir"]


def test_sensitive_values_are_never_displayed() -> None:
    props = SPEC["properties"]
    assert is_sensitive("honcho_api_key", props["honcho_api_key"])
    assert is_sensitive("token_x") and is_sensitive("plain", {"format": "password"})
    assert not is_sensitive("config_dir", props["config_dir"])
    assert display("honcho_api_key", "sk-123", props["honcho_api_key"]) == "(hidden)"
    assert display("config_dir", "/c") == "'/c'"
