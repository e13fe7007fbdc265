"""The role interfaces: `SqlStateStore` implements every one of them, method by method, with the same signature, so
a method added to a role but not to the SQL store (or with other parameters) fails here, not in production."""

from __future__ import annotations

import inspect
from abc import ABC, abstractmethod

from youlab_core.state import SqlStateStore, StateStore
from youlab_core.state.base import ROLES


def methods(cls: type) -> set[str]:
    return {name for name, value in inspect.getmembers(cls, inspect.isfunction) if not name.startswith("_")}


def mismatches(role: type, impl: type) -> list[str]:
    """What `impl` lacks of `role`: a method missing, still abstract, or with other parameters."""
    found = []
    for name in sorted(methods(role)):
        mine = getattr(impl, name, None)
        if mine is None or getattr(mine, "__isabstractmethod__", False):
            found.append(f"{name}: not implemented")
            continue
        # Names, kinds and defaults: a caller written against the role must work against the implementation.
        wanted = [(p.name, p.kind, p.default) for p in inspect.signature(getattr(role, name)).parameters.values()]
        got = [(p.name, p.kind, p.default) for p in inspect.signature(mine).parameters.values()]
        if wanted != got:
            found.append(f"{name}: parameters {got} instead of {wanted}")
    return found


def test_the_sql_store_implements_every_role_and_the_union() -> None:
    assert not inspect.isabstract(SqlStateStore)
    for role in (*ROLES, StateStore):
        assert issubclass(SqlStateStore, role), role.__name__
        assert mismatches(role, SqlStateStore) == [], role.__name__


def test_the_check_catches_a_method_missing_or_with_other_parameters() -> None:
    class Grown(ABC):
        @abstractmethod
        def record_message(self, user_id: str, course_id: str) -> None: ...  # the store's also takes `at`

        @abstractmethod
        def forget_student(self, user_id: str) -> None: ...

    assert [m.split(":")[0] for m in mismatches(Grown, SqlStateStore)] == ["forget_student", "record_message"]

    class Partial(Grown):
        def record_message(self, user_id: str, course_id: str) -> None: ...

    assert mismatches(Grown, Partial) == ["forget_student: not implemented"]


def test_each_method_has_one_role_and_the_union_adds_only_close() -> None:
    owners: dict[str, list[str]] = {}
    for role in ROLES:
        for name in methods(role):
            owners.setdefault(name, []).append(role.__name__)
    assert {name: roles for name, roles in owners.items() if len(roles) > 1} == {}
    assert methods(StateStore) - set(owners) == {"close"}


def test_a_store_from_open_store_is_each_role(store: SqlStateStore) -> None:
    assert all(isinstance(store, role) for role in ROLES)
