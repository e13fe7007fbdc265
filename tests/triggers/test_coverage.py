from youlab_core.config import TaskSpec
from youlab_core.triggers import StaticGroupResolver, covered_users, resolve_user_filter, user_filter_allows

QUERY = [{"target": "student.notes", "question": "What?"}]
GROUPS = StaticGroupResolver({"cohort-a": {"u2", "u3"}, "staff": {"u9"}})


def task(user_filter: object) -> TaskSpec:
    return TaskSpec(name="t", queries=QUERY, user_filter=user_filter)


def test_all_covers_every_active_student() -> None:
    assert resolve_user_filter(task("all"), GROUPS) is None
    assert covered_users(["u1", "u2"], task("all"), GROUPS) == ["u1", "u2"]


def test_explicit_ids_and_groups_are_a_union() -> None:
    t = task(["u1", "group:cohort-a"])
    assert resolve_user_filter(t, GROUPS) == {"u1", "u2", "u3"}
    assert covered_users(["u1", "u2", "u4", "u9"], t, GROUPS) == ["u1", "u2"]


def test_only_active_students_are_covered() -> None:
    # u3 is in the group but has never written in the course.
    assert covered_users(["u2"], task(["group:cohort-a"]), GROUPS) == ["u2"]


def test_unknown_group_covers_nobody() -> None:
    t = task(["group:nope"])
    assert resolve_user_filter(t, GROUPS) == set()
    assert not user_filter_allows(t, "u1", GROUPS)


def test_groups_without_a_resolver_cover_nobody_but_ids_still_count() -> None:
    t = task(["u1", "group:cohort-a"])
    assert resolve_user_filter(t, None) == {"u1"}
