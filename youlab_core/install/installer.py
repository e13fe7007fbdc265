"""`install()`: bring Open WebUI in line with this checkout's plugins and courses, changing only what differs.

Steps, each a no-op when the server already matches: create or update each plugin function (content, name,
description), activate it, make filters global, set valves, then write the tutor, agent and view model records
(an agent record that listed other Actions is set back to the review's alone).
A second run reports no changes. `/api/v1/functions/sync` is never called (it deletes other functions).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..config import Course, course_files, load_course
from ..errors import ConfigError
from ..openwebui import OpenWebUIClient
from . import records
from .plugins import PluginFile, load_plugins, stored_content
from .valves import ValveError, ValveSetting, desired_valves, display, properties, unmatched

log = logging.getLogger(__name__)


@dataclass
class InstallOptions:
    plugins_dir: Path | None = None
    config_dir: Path = Path("config")
    valves: list[ValveSetting] = field(default_factory=list)
    agent_access: records.AgentAccess = "public"
    # Set a function's empty `llm_model` valve to the tutor's base model when no setting names it.
    default_llm_model: bool = True
    # Hide the tutors' base models from the model selector (still readable: the tutor needs them), so students see
    # their courses' tutors only. `youlab install --show-base-models` keeps them listed.
    hide_base_models: bool = True


@dataclass
class InstallReport:
    changes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    functions: list[str] = field(default_factory=list)
    models: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.changes)

    def note(self, text: str) -> None:
        log.info("install: %s", text)
        self.changes.append(text)


def load_courses(config_dir: Path, report: InstallReport) -> list[Course]:
    """Every valid course; a broken one is skipped with a warning naming file and key (the rest still install)."""
    courses: list[Course] = []
    for path in course_files(config_dir):
        try:
            courses.append(load_course(path))
        except ConfigError as exc:
            report.warnings.extend(f"course skipped: {issue}" for issue in exc.issues)
    if not courses:
        report.warnings.append(f"no valid course in {config_dir} (looked for courses/*/course.toml)")
    return courses


async def install(client: OpenWebUIClient, options: InstallOptions) -> InstallReport:
    report = InstallReport()
    plugins = load_plugins(options.plugins_dir)
    courses = load_courses(Path(options.config_dir), report)
    tutor_ids = {model_id for course in courses for model_id in course.agent.models}

    existing = {f["id"]: f for f in await client.functions.list()}
    installed: dict[str, dict[str, Any]] = {}
    for plugin in plugins:
        installed[plugin.id] = await _ensure_function(client, plugin, existing.get(plugin.id), report)
    report.functions = list(installed)

    available = await client.models.available(refresh=True)
    records_by_id = {r["id"]: r for r in await client.models.records()}
    default_base = records.pick_base_model(available, tutor_ids)

    specs = {fid: await client.functions.valves_spec(fid) for fid in installed}
    settings = list(options.valves)
    if options.default_llm_model and default_base and not any(s.name.lower() == "llm_model" for s in settings):
        settings.append(ValveSetting("llm_model", default_base, None, "default", required=False))
    missing = unmatched(settings, specs)
    if missing:
        names = ", ".join(f"{s.source} {(s.function_id + '.') if s.function_id else ''}{s.name}" for s in missing)
        raise ValveError(f"no installed youlab function has these valves: {names}")
    for fid, spec in specs.items():
        await _ensure_valves(client, fid, spec, settings, report)

    action_ids = [records.REVIEW_ACTION_ID] if records.REVIEW_ACTION_ID in installed else []
    for course in courses:
        for model_id in course.agent.models:
            current = records_by_id.get(model_id)
            base = records.pick_base_model(
                available,
                tutor_ids,
                preferred=course.agent.base_model,
                current=(current or {}).get("base_model_id"),
            )
            if base is None:
                report.warnings.append(
                    f"{model_id}: no base model (set [agent].base_model in {course.id}'s course.toml, "
                    "or configure a connection in Open WebUI); tutor model not written"
                )
                continue
            desired = records.tutor_model_form(course, model_id, base)
            await _ensure_record(client, desired, current, report, exact_grants=False)
            if options.hide_base_models:
                await _hide_base(client, base, available, records_by_id, report)
            await _ensure_base_readable(client, base, available, records_by_id, desired["access_grants"], report)
        for task in course.tasks:
            desired = records.agent_model_form(course, task, action_ids=action_ids, access=options.agent_access)
            await _ensure_record(client, desired, records_by_id.get(task.model_id), report, exact_grants=True)
    await _ensure_views(client, installed, records_by_id, options, report)
    return report


async def _ensure_views(client: OpenWebUIClient, installed: dict[str, Any], records_by_id: dict[str, dict[str, Any]],
                        options: InstallOptions, report: InstallReport) -> None:
    """One hidden record per view model (not per course), listing the view's Actions that are installed."""
    from ..bundle.view_models import VIEW_MODELS  # here: the bundle package imports this one's records

    for view in VIEW_MODELS:
        desired = records.view_model_form(view, action_ids=[a for a in view.action_ids if a in installed],
                                          access=options.agent_access)
        await _ensure_record(client, desired, records_by_id.get(view.model_id), report, exact_grants=True)


async def _ensure_function(
    client: OpenWebUIClient, plugin: PluginFile, listed: dict[str, Any] | None, report: InstallReport
) -> dict[str, Any]:
    if listed is None:
        current = await client.functions.create(plugin.id, plugin.name, plugin.content, plugin.description)
        report.note(f"function {plugin.id}: created")
    else:
        current = await client.functions.get(plugin.id) or listed
        differs = [
            what
            for what, have, want in (
                ("content", current.get("content"), stored_content(plugin.content)),
                ("name", current.get("name"), plugin.name),
                ("description", (current.get("meta") or {}).get("description") or "", plugin.description),
            )
            if have != want
        ]
        if differs:
            current = await client.functions.update(plugin.id, plugin.name, plugin.content, plugin.description)
            report.note(f"function {plugin.id}: updated ({', '.join(differs)})")
    if not current.get("is_active"):
        current = await client.functions.set_active(plugin.id, True)
        report.note(f"function {plugin.id}: activated")
    if current.get("type") == "filter" and not current.get("is_global"):
        current = await client.functions.set_global(plugin.id, True)
        report.note(f"function {plugin.id}: made global")
    return current


async def _ensure_valves(
    client: OpenWebUIClient,
    function_id: str,
    spec: dict[str, Any] | None,
    settings: list[ValveSetting],
    report: InstallReport,
) -> None:
    if not properties(spec):
        return
    current = await client.functions.get_valves(function_id)
    # The default llm_model applies only where nothing is stored yet (an admin's choice wins).
    usable = [s for s in settings if not (s.source == "default" and current.get(s.name))]
    wanted, changed = desired_valves(function_id, spec, current, usable)
    if not changed:
        return
    await client.functions.update_valves(function_id, wanted)
    props = properties(spec)
    shown = ", ".join(f"{name}={display(name, wanted[name], props.get(name))}" for name in changed)
    report.note(f"function {function_id}: valves set: {shown}")


async def _hide_base(
    client: OpenWebUIClient,
    base_id: str,
    available: list[dict[str, Any]],
    records_by_id: dict[str, dict[str, Any]],
    report: InstallReport,
) -> None:
    """Open WebUI's hidden-but-readable pattern: the base model keeps working behind the tutor and is not listed
    in the selector. Creates the base model's record when the connection's model has none."""
    current = records_by_id.get(base_id) or await client.models.get(base_id)
    meta = dict((current or {}).get("meta") or {})
    if meta.get("hidden") is True:
        return
    name = next((str(m.get("name") or base_id) for m in available if m.get("id") == base_id), base_id)
    form = {"id": base_id, "name": (current or {}).get("name") or name, "base_model_id": None,
            "meta": {**meta, "hidden": True}, "params": (current or {}).get("params") or {}, "is_active": True}
    if current is None:
        await client.models.create({**form, "access_grants": []})
    else:
        await client.models.update(form)
    records_by_id[base_id] = (await client.models.get(base_id)) or {**form, "access_grants": []}
    report.note(f"model {base_id}: hidden from the model selector (the tutor still uses it)")


async def _ensure_base_readable(
    client: OpenWebUIClient,
    base_id: str,
    available: list[dict[str, Any]],
    records_by_id: dict[str, dict[str, Any]],
    grants: list[dict[str, Any]],
    report: InstallReport,
) -> None:
    """Open WebUI 0.12.4 checks read access on every hop of a model's base chain: a student may use the tutor
    only if they may read its base model too. Add the tutor's grants to the base model (kept: any others)."""
    current = records_by_id.get(base_id)
    wanted = records.wanted_grants(current, {"access_grants": grants}, exact=False)
    if wanted is None:
        return
    name = next((str(m.get("name") or base_id) for m in available if m.get("id") == base_id), base_id)
    await client.models.set_access(base_id, wanted, name=None if current else name)
    records_by_id[base_id] = {**(current or {"id": base_id}), "access_grants": wanted}
    report.note(f"model {base_id}: readable by the tutor's users (Open WebUI checks the base model too)")


async def _ensure_record(
    client: OpenWebUIClient,
    desired: dict[str, Any],
    current: dict[str, Any] | None,
    report: InstallReport,
    *,
    exact_grants: bool,
) -> None:
    model_id = desired["id"]
    report.models.append(model_id)
    if current is None:
        await client.models.create(desired)
        report.note(f"model {model_id}: created")
        return
    changed = records.record_changes(current, desired)
    if changed:
        await client.models.update(records.merged_form(current, desired))
        report.note(f"model {model_id}: updated ({', '.join(changed)})")
    grants = records.wanted_grants(current, desired, exact=exact_grants)
    if grants is not None:
        await client.models.set_access(model_id, grants)
        report.note(f"model {model_id}: access set")
