"""`same_value`, the one equality of field values (memory, merges and the runner use it), and `check_value`."""

from __future__ import annotations

import math
from datetime import datetime, timezone

import pytest

from youlab_core import merge
from youlab_core.config import FieldSpec, FieldType
from youlab_core.memory.values import InvalidFieldValue, check_value, same_value

NAN = float("nan")


def test_nan_equals_nan():
    # Two different NaN objects: `==` says False and `is` says False, same_value says True (else a NaN field would
    # look changed on every run and be proposed again and again).
    assert same_value(float("nan"), float("nan"))
    assert same_value(math.nan, NAN)


@pytest.mark.parametrize("other", [0.0, 1.0, math.inf, None, "nan", 0])
def test_nan_equals_nothing_else(other):
    assert not same_value(NAN, other) and not same_value(other, NAN)


@pytest.mark.parametrize(("a", "b"), [(True, 1), (False, 0), (False, 0.0), (True, 1.0)])
def test_a_bool_is_never_a_number(a, b):
    assert a == b  # what plain Python says
    assert not same_value(a, b) and not same_value(b, a)


def test_bools_equal_bools_and_numbers_equal_numbers():
    assert same_value(True, True) and same_value(False, False) and not same_value(True, False)
    assert same_value(1, 1.0) and same_value(2.5, 2.5) and not same_value(1, 2)


def test_other_values_compare_with_equality():
    when = datetime(2026, 11, 24, 9, 30, tzinfo=timezone.utc)
    assert same_value(["a", "b"], ["a", "b"]) and not same_value(["a", "b"], ["b", "a"])
    assert same_value("text", "text") and not same_value("text", "Text")
    assert same_value(when, datetime(2026, 11, 24, 9, 30, tzinfo=timezone.utc))
    assert same_value(None, None) and not same_value(None, "")


def test_merges_use_the_same_equality():
    """A merge result equal to the current value is no proposal: a bool field's "no" equals False, not 0."""
    spec = FieldSpec(type=FieldType.bool, default=False)
    assert merge.replace(spec, False, "no", field_name="active") is None
    assert merge.replace(spec, 0, "no", field_name="active") is not None  # 0 is not the bool False
    assert merge.replace(spec, False, "yes", field_name="active").value is True


def test_options_are_matched_with_the_same_equality():
    assert math.isnan(check_value(FieldSpec(type=FieldType.float, options=[NAN, 1.0]), float("nan"), where="f"))
    assert check_value(FieldSpec(type=FieldType.float, options=[1.0, 2.0]), 2, where="f") == 2.0
    with pytest.raises(InvalidFieldValue, match="not one of"):
        check_value(FieldSpec(type=FieldType.float, options=[1.0, 2.0]), 3.0, where="f")


def test_check_value_refuses_a_bool_for_a_number_field():
    with pytest.raises(InvalidFieldValue, match="not a int"):
        check_value(FieldSpec(type=FieldType.int, default=0), True, where="profile.level")
    with pytest.raises(InvalidFieldValue, match="not a float"):
        check_value(FieldSpec(type=FieldType.float, default=0.0), False, where="profile.score")


# ---- equivalent: how a run recognises a value the student already decided on ------------------------------------

from youlab_core.memory.values import decision_key, equivalent  # noqa: E402


@pytest.mark.parametrize(("a", "b"), [
    ("Stanford", "stanford"),
    ("Target school:  Stanford\n", "target school: stanford"),
    ("ÉCOLE", "école"),
    (["a", "b"], ["b", "a"]),
    (["Gentle  feedback", "examples"], ["examples", "gentle feedback "]),
    (["a", "a", "b"], ["b", "a"]),
    (1, 1.0),
    (NAN, float("nan")),
    (None, ""),
    ("", "   "),
    ([], None),
    (datetime(2026, 3, 1, 12, tzinfo=timezone.utc), datetime(2026, 3, 1, 12)),
    (True, True),
])
def test_equivalent_ignores_whitespace_case_list_order_and_number_form(a, b):
    assert equivalent(a, b) and equivalent(b, a)
    assert hash(decision_key(a)) == hash(decision_key(b))


@pytest.mark.parametrize(("a", "b"), [
    ("Stanford", "Stanford University"),
    ("stan ford", "stanford"),  # whitespace inside a word is a different word
    (["a", "b"], ["a", "b", "c"]),
    (["a b"], ["a", "b"]),
    (True, 1),
    (False, 0.0),
    (1, 2),
    ("1", 1),
    (datetime(2026, 3, 1, 12, tzinfo=timezone.utc), datetime(2026, 3, 1, 13, tzinfo=timezone.utc)),
    ("", "x"),
    (0, None),
    (False, None),
])
def test_equivalent_keeps_real_differences(a, b):
    assert not equivalent(a, b) and not equivalent(b, a)
