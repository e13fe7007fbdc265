import pytest

from youlab_core.triggers import after_messages_due, new_messages


def test_exactly_n_is_due_and_one_less_is_not() -> None:
    assert not after_messages_due(12, 10, 3)
    assert after_messages_due(13, 10, 3)
    assert after_messages_due(14, 10, 3)


def test_first_run_counts_from_zero() -> None:
    assert not after_messages_due(2, 0, 3)
    assert after_messages_due(3, 0, 3)


def test_counter_going_backwards_counts_as_nothing_new() -> None:
    assert new_messages(5, 9) == 0
    assert not after_messages_due(5, 9, 1)


def test_n_must_be_positive() -> None:
    with pytest.raises(ValueError, match="positive"):
        after_messages_due(1, 0, 0)
