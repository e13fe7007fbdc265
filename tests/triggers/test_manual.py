import pytest

from youlab_core.config import TaskSpec
from youlab_core.errors import ManualRunRefused
from youlab_core.triggers import check_manual

QUERY = [{"target": "student.notes", "question": "What?"}]


def test_manual_true_is_allowed() -> None:
    check_manual(TaskSpec(name="t", manual=True, queries=QUERY))


def test_manual_false_is_refused_naming_the_task() -> None:
    task = TaskSpec(name="weekly", manual=False, schedule="0 9 * * 1", queries=QUERY)
    with pytest.raises(ManualRunRefused, match="'weekly'.*manual = false"):
        check_manual(task)
