import copy

from youlab_core.config import load_course
from youlab_core.install.records import (
    PUBLIC_READ,
    agent_model_form,
    merged_form,
    pick_base_model,
    record_changes,
    tutor_model_form,
    wanted_grants,
)

COURSE = load_course("config/courses/college-essay/course.toml")


def test_tutor_form() -> None:
    form = tutor_model_form(COURSE, "college-essay-tutor", "youlab-demo")
    assert form["id"] == "college-essay-tutor"
    assert form["name"] == COURSE.agent.name
    assert form["base_model_id"] == "youlab-demo"
    assert form["params"] == {"system": COURSE.agent.system}
    assert form["access_grants"] == [PUBLIC_READ]


def test_agent_form_is_hidden_with_action_and_grants() -> None:
    task = COURSE.tasks[0]
    form = agent_model_form(COURSE, task, action_ids=["youlab_review"])
    assert form["id"] == f"youlab_agents.{task.name}"
    assert form["base_model_id"] is None
    assert form["name"] == task.display_name
    assert form["meta"]["hidden"] is True
    assert form["meta"]["description"] == task.description
    assert form["meta"]["actionIds"] == ["youlab_review"]
    assert form["access_grants"] == [PUBLIC_READ]
    assert agent_model_form(COURSE, task, access="private")["access_grants"] == []


def _stored(form: dict) -> dict:
    """A record as Open WebUI returns it: our fields plus its own."""
    record = copy.deepcopy(form)
    record["meta"] = {"profile_image_url": "/static/favicon.png", "capabilities": None, **record["meta"]}
    record.update(user_id="u1", created_at=1, updated_at=2, version_id="v")
    record["access_grants"] = [{**g, "id": "g1", "resource_id": form["id"], "resource_type": "model",
                                "created_at": 1} for g in form["access_grants"]]
    return record


def test_a_stored_record_equal_to_ours_needs_no_change() -> None:
    form = agent_model_form(COURSE, COURSE.tasks[0], action_ids=["youlab_review"])
    stored = _stored(form)
    assert record_changes(stored, form) == []
    assert wanted_grants(stored, form, exact=True) is None


def test_changed_fields_are_named_and_admin_additions_kept() -> None:
    form = tutor_model_form(COURSE, "college-essay-tutor", "youlab-demo")
    stored = _stored(form)
    stored["name"] = "Renamed"
    stored["params"]["temperature"] = 0.3
    stored["meta"]["profile_image_url"] = "data:image/png;base64,xx"
    assert record_changes(stored, form) == ["name"]
    merged = merged_form(stored, form)
    assert merged["name"] == COURSE.agent.name
    assert merged["params"] == {"system": COURSE.agent.system, "temperature": 0.3}
    assert merged["meta"]["profile_image_url"] == "data:image/png;base64,xx"


def test_tutor_grants_are_added_to_the_admins_agent_grants_replaced() -> None:
    form = tutor_model_form(COURSE, "college-essay-tutor", "m")
    stored = _stored(form)
    group = {"principal_type": "group", "principal_id": "g", "permission": "read"}
    stored["access_grants"] = [group]
    assert wanted_grants(stored, form, exact=False) == sorted([group, PUBLIC_READ], key=lambda g: g["principal_type"])
    agent = agent_model_form(COURSE, COURSE.tasks[0], access="private")
    stored_agent = _stored(agent_model_form(COURSE, COURSE.tasks[0]))
    assert wanted_grants(stored_agent, agent, exact=True) == []


def test_pick_base_model() -> None:
    available = [
        {"id": "youlab_agents.progression-grader", "pipe": {"type": "pipe"}},
        {"id": "college-essay-tutor", "info": {"base_model_id": "x"}},
        {"id": "preset", "info": {"base_model_id": "gpt"}},
        {"id": "arena-model", "owned_by": "arena"},
        {"id": "gpt"},
        {"id": "youlab-demo"},
    ]
    tutors = {"college-essay-tutor"}
    assert pick_base_model(available, tutors) == "gpt"
    assert pick_base_model(available, tutors, current="youlab-demo") == "youlab-demo"
    assert pick_base_model(available, tutors, current="gone") == "gpt"
    assert pick_base_model(available, tutors, preferred="llama3") == "llama3"
    assert pick_base_model([{"id": "youlab_x"}], tutors) is None


def test_view_form_is_hidden_readable_and_lists_the_view_actions() -> None:
    from youlab_core.bundle.view_models import VIEW_MODELS
    from youlab_core.install.records import view_model_form

    view = VIEW_MODELS[0]
    form = view_model_form(view)
    assert form["id"] == "youlab_agents.youlab:memory" and form["name"] == "Your memory"
    assert form["meta"]["hidden"] is True and form["meta"]["actionIds"] == ["youlab_memory", "youlab_review"]
    assert form["meta"]["youlab"] == {"view": "youlab:memory", "role": "view"} and form["base_model_id"] is None
    assert form["access_grants"] == [PUBLIC_READ]
    assert view_model_form(view, action_ids=["youlab_review"], access="private") | {"meta": None} == \
        form | {"meta": None, "access_grants": []}
