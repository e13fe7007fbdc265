from pathlib import Path

from youlab_core.config import CourseRegistry, load_course

ROOT = Path(__file__).resolve().parents[2]


def test_college_essay_loads_with_every_trigger_kind():
    course = load_course(ROOT / "config/courses/college-essay/course.toml")
    assert course.id == "college-essay"
    grader = course.task("progression-grader")
    assert grader is not None and grader.on_idle and grader.manual
    assert [q.merge.value for q in grader.queries] == ["replace", "replace", "append", "llm_diff"]
    kinds = set()
    for task in course.tasks:
        kinds |= {k for k, on in [("schedule", task.schedule), ("after_messages", task.after_messages),
                                  ("on_idle", task.on_idle), ("manual", task.manual)] if on}
    assert kinds == {"schedule", "after_messages", "on_idle", "manual"}
    assert course.field_spec("journey", "milestones").max == 30


def test_registry_loads_the_config_dir():
    registry = CourseRegistry(ROOT / "config")
    assert registry.reload() == []
    assert set(registry.courses) == {"college-essay"}
    course, task = registry.find_task("youlab_agents.progression-grader")
    assert task.name == "progression-grader" and course.id == "college-essay"
