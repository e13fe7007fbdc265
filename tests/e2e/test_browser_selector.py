"""The model selector a student sees: the course's models, never an agent model (hidden, though the API lists it)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.support.browser import StudentPage, failed_test_name
from tests.support.openwebui_stack import OpenWebUIHandle
from youlab_core.config import load_course
from youlab_core.openwebui import SyncOpenWebUIClient

SEARCH = "input[placeholder='Search a model']"
OPTIONS = "[role='listbox'] [role='option'][data-value]"


@pytest.fixture(scope="module")
def student_token(openwebui: OpenWebUIHandle) -> str:
    return openwebui.make_student("Selector Student")[1]


@pytest.fixture
def student(chromium, openwebui: OpenWebUIHandle, student_token: str, request: pytest.FixtureRequest) -> Iterator[StudentPage]:
    page = StudentPage.open(chromium, openwebui.url, student_token)
    yield page
    page.close(failed_test=failed_test_name(request))


def api_models(openwebui: OpenWebUIHandle, token: str) -> dict[str, dict[str, Any]]:
    with SyncOpenWebUIClient(openwebui.url, token=token) as client:
        return {m["id"]: m for m in client.models.available(refresh=True)}


def open_selector(student: StudentPage) -> Any:
    student.goto("/")
    student.wait_for_composer()
    student.page.locator("button[aria-label^='Selected model']").first.click()
    search = student.page.locator(SEARCH)
    search.wait_for()
    return search


def listed(student: StudentPage) -> list[str]:
    return [o.get_attribute("data-value") for o in student.page.locator(OPTIONS).all()]


def test_selector_lists_the_course_models_and_no_agent(
    student: StudentPage, openwebui: OpenWebUIHandle, student_token: str
) -> None:
    course = load_course(openwebui.config_dir / "courses" / "college-essay" / "course.toml")
    models = api_models(openwebui, student_token)
    agents = {m for m in models if m.startswith("youlab_agents.")}
    # The API does give the student the agent models (read access, so threads show the agent): hidden only.
    assert {f"youlab_agents.{t.name}" for t in course.tasks} <= agents
    assert all(models[m]["info"]["meta"]["hidden"] for m in agents)

    open_selector(student)
    student.page.locator(OPTIONS).first.wait_for()
    shown = listed(student)
    assert set(course.agent.models) <= set(shown)
    assert not agents & set(shown)
    assert "youlab-demo" not in shown  # the tutor's base model: readable, hidden from the selector
    assert set(shown) == {m for m, v in models.items() if not ((v.get("info") or {}).get("meta") or {}).get("hidden")}
    student.screenshot("model-selector")


@pytest.mark.parametrize("typed", ["Progression Grader", "Milestone", "youlab_agents"])
def test_searching_for_an_agent_finds_nothing(student: StudentPage, openwebui: OpenWebUIHandle, typed: str) -> None:
    search = open_selector(student)
    search.fill(typed)
    student.page.get_by_text("No results found").first.wait_for()
    assert listed(student) == []
    # The same search box does find the course's tutor, so "nothing" above is the hiding, not a broken search.
    search.fill("College")
    student.page.locator(f"{OPTIONS}[data-value='{openwebui.tutor_model}']").wait_for()
