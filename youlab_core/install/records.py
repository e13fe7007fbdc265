"""Open WebUI model records the bundle needs: each course's tutor models, each task's hidden agent model and each
view's hidden model (youlab_core/bundle/view_models.py).

Both the installer and the agents Pipe build records here, so they always agree on their shape.
An update keeps what an admin added (a profile image, extra params, other meta keys) and sets only our keys.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from typing import Any, Literal

from ..config import Course, TaskSpec

PUBLIC_READ: dict[str, str] = {"principal_type": "user", "principal_id": "*", "permission": "read"}
AGENT_PREFIX = "youlab_agents."
REVIEW_ACTION_ID = "youlab_review"
AgentAccess = Literal["public", "private"]


def tutor_model_form(course: Course, model_id: str, base_model_id: str | None) -> dict[str, Any]:
    """A course tutor: the base model with the course's system prompt, readable by every user."""
    agent = course.agent
    return {
        "id": model_id,
        "name": agent.name if model_id == agent.models[0] else f"{agent.name} ({model_id})",
        "base_model_id": base_model_id,
        "meta": {"description": agent.description, "youlab": {"course": course.id, "role": "tutor"}},
        "params": {"system": agent.system} if agent.system else {},
        "access_grants": [dict(PUBLIC_READ)],
        "is_active": True,
    }


def agent_model_form(
    course: Course,
    task: TaskSpec,
    *,
    action_ids: Iterable[str] = (),
    access: AgentAccess = "public",
) -> dict[str, Any]:
    """The hidden record of `youlab_agents.<task>` (same id as the Pipe's model, no base model).

    Public read lets a student's own agent threads show the agent's name and its action buttons; it does not let
    a student run the agent (the Pipe refuses non-admin callers). Hidden keeps it out of every model selector.
    """
    return {
        "id": task.model_id,
        "name": task.title,
        "base_model_id": None,
        "meta": {
            "hidden": True,
            "description": task.description,
            "actionIds": list(action_ids),
            "youlab": {"course": course.id, "task": task.name, "role": "agent"},
        },
        "params": {},
        "access_grants": [dict(PUBLIC_READ)] if access == "public" else [],
        "is_active": True,
    }


def view_model_form(view: Any, *, action_ids: Iterable[str] | None = None, access: AgentAccess = "public") -> dict[str, Any]:
    """The hidden record of a view model (`youlab_agents.<suffix>`, a `ViewModel`): like an agent's, without a
    course. `action_ids`: the Actions to list (default: all the view names; the installer passes those installed)."""
    return {
        "id": view.model_id,
        "name": view.name,
        "base_model_id": None,
        "meta": {
            "hidden": True,
            "description": view.description,
            "actionIds": list(view.action_ids if action_ids is None else action_ids),
            "youlab": {"view": view.suffix, "role": "view"},
        },
        "params": {},
        "access_grants": [dict(PUBLIC_READ)] if access == "public" else [],
        "is_active": True,
    }


def merged_form(existing: dict[str, Any] | None, desired: dict[str, Any]) -> dict[str, Any]:
    """The full update form: the existing record with our name, base model, meta keys and params keys on top."""
    if existing is None:
        return copy.deepcopy(desired)
    form = {
        "id": desired["id"],
        "name": desired["name"],
        "base_model_id": desired["base_model_id"],
        "meta": {**(existing.get("meta") or {}), **desired["meta"]},
        "params": {**(existing.get("params") or {}), **desired["params"]},
        "is_active": desired.get("is_active", existing.get("is_active", True)),
    }
    return form


_COMPARED = ("name", "base_model_id", "meta", "params", "is_active")


def record_changes(existing: dict[str, Any], desired: dict[str, Any]) -> list[str]:
    """Which of our fields differ between a stored record and the desired one (empty: nothing to write)."""
    target = merged_form(existing, desired)
    changes = []
    for key in _COMPARED:
        have: Any = existing.get(key)
        want: Any
        if key in ("meta", "params"):
            have = {k: v for k, v in (have or {}).items() if v is not None}
            want = {k: v for k, v in (target.get(key) or {}).items() if v is not None}
        else:
            want = target.get(key)
        if have != want:
            changes.append(key)
    return changes


def grant_set(grants: Iterable[dict[str, Any]] | None) -> set[tuple[str, str, str]]:
    return {(g["principal_type"], g["principal_id"], g["permission"]) for g in grants or []}


def wanted_grants(existing: dict[str, Any] | None, desired: dict[str, Any], *, exact: bool) -> list[dict[str, Any]] | None:
    """The grants to set, or None when the stored ones already fit.

    exact=True (agent records, which the bundle owns): exactly the desired grants.
    exact=False (tutor records): the desired grants must be present; grants an admin added are kept.
    """
    have = grant_set((existing or {}).get("access_grants"))
    want = grant_set(desired.get("access_grants"))
    target = want if exact else have | want
    if have == target:
        return None
    return [{"principal_type": t, "principal_id": i, "permission": p} for t, i, p in sorted(target)]


def is_youlab_model(model: dict[str, Any], tutor_ids: set[str]) -> bool:
    model_id = str(model.get("id", ""))
    return model_id.startswith("youlab_") or model_id in tutor_ids


def pick_base_model(
    available: list[dict[str, Any]],
    tutor_ids: set[str],
    *,
    preferred: str = "",
    current: str | None = None,
) -> str | None:
    """The tutor's base model: `preferred` ([agent].base_model) if set; else the current one while it is still
    offered; else the first model the connections offer that is not ours, not a preset and not an arena model."""
    if preferred:
        return preferred
    offered = [
        m
        for m in available
        if not is_youlab_model(m, tutor_ids)
        and not (m.get("info") or {}).get("base_model_id")
        and m.get("owned_by") != "arena"
        and not m.get("pipe")
    ]
    ids = [str(m["id"]) for m in offered]
    if current and current in ids:
        return current
    return ids[0] if ids else None
