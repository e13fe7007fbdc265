"""The hidden agent models (plugins/youlab_agents.py is the thin shell).

Every configured task is a model `youlab_agents.<task>`, and every view (view_models.py: the memory view) a model
`youlab_agents.<suffix>` that is never run. Each gets a model record with the same id so Open WebUI
hides it from model lists (`meta.hidden`), shows its name on the student's threads (a read grant to everyone:
without one a student's UI cannot resolve the model), and puts the review buttons under its messages
(`meta.actionIds`). Hidden is not a permission: the pipe itself refuses everyone but admins.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections.abc import Awaitable, Callable
from typing import Any

from ..errors import ManualRunRefused, NotFound, PermissionDenied, UserFacingError
from ..install.records import REVIEW_ACTION_ID
from ..manual import manual_run
from ..openwebui import internals as owui
from .context import Bundle
from .view_models import VIEW_MODELS, find_view

log = logging.getLogger(__name__)

Emit = Callable[[dict[str, Any]], Awaitable[None]] | None

_ensured: dict[str, str] = {}  # model id -> digest of the record we last made sure of (per process)


def pipe_list(bundle: Bundle) -> list[dict[str, str]]:
    bundle.reload_config()
    return ([{"id": task.name, "name": task.title} for _, task in bundle.courses.tasks()]
            + [{"id": view.suffix, "name": view.name} for view in VIEW_MODELS])


def desired_records(bundle: Bundle) -> list[dict[str, Any]]:
    """The same forms `youlab install` writes (youlab_core.install.records). Each agent's description also names
    the problems of its own course's file and whether the agents can run (Bundle.config_problems: no server path
    and no exception text, as students can read these records); the server log has the full detail."""
    from ..install.records import agent_model_form, view_model_form

    bundle.reload_config()
    records = []
    for course, task in bundle.courses.tasks():
        form = agent_model_form(course, task, action_ids=[REVIEW_ACTION_ID])
        problems = bundle.config_problems(course.id)
        if problems:
            notes = [form["meta"].get("description") or "", "Configuration problems: " + "; ".join(problems)]
            form["meta"]["description"] = "\n\n".join(n for n in notes if n)
        records.append(form)
    return records + [view_model_form(view) for view in VIEW_MODELS]


async def ensure_model_records(bundle: Bundle) -> int:
    """Create or update the agent models' records in Open WebUI's database; returns how many were written.
    Idempotent: a record that already has our name, meta keys, params and grants is not touched."""
    from ..install.records import merged_form, record_changes, wanted_grants

    written = 0
    owner = None
    for desired in desired_records(bundle):
        digest = hashlib.sha256(json.dumps(desired, sort_keys=True).encode()).hexdigest()
        if _ensured.get(desired["id"]) == digest:
            continue
        existing_model = await owui.model_record(desired["id"])
        if existing_model is None:
            owner = owner or await owui.super_admin()
            if owner is None:
                return written  # no admin yet: try again on the next model list refresh
            await owui.insert_model_record(desired, owner.id)
            written += 1
        else:
            existing = existing_model.model_dump()
            existing["access_grants"] = [g.model_dump() for g in existing_model.access_grants]
            if record_changes(existing, desired):
                await owui.update_model_record(desired["id"], merged_form(existing, desired))
                written += 1
            grants = wanted_grants(existing, desired, exact=True)
            if grants is not None:
                await owui.set_model_grants(desired["id"], grants)
                written += 1
        _ensured[desired["id"]] = digest
    return written


# Manual runs ---------------------------------------------------------------------------------------------------

TARGETS_HELP = (
    "Name the students to run this agent for in your message: `me`, user ids, email addresses, or `all` "
    "(every student the task's user filter allows), separated by spaces or commas."
)


async def resolve_targets(text: str, admin: dict[str, Any]) -> tuple[list[str] | None, list[str]]:
    """(user ids or None for `all`, problems). Words that are neither `me`, `all`, an email nor a user id are
    reported, not guessed."""
    words = [w for w in re.split(r"[\s,;]+", text.strip()) if w]
    if any(w.lower() == "all" for w in words):
        return None, []
    ids: list[str] = []
    problems: list[str] = []
    for word in words:
        if word.lower() == "me":
            ids.append(str(admin["id"]))
        elif "@" in word:
            found = await owui.user_by_email(word.lower())
            if found is None:
                problems.append(f"no user with email {word}")
            else:
                ids.append(found.id)
        else:
            found = await owui.user_by_id(word)
            if found is None:
                problems.append(f"no user with id {word}")
            else:
                ids.append(found.id)
    return list(dict.fromkeys(ids)), problems


async def all_students(task: Any) -> list[str]:
    """`all`: every user with role `user` (not pending, not admin) that the task's user_filter allows."""
    from ..triggers import user_filter_allows
    from .groups import OpenWebUIGroups

    listed = await owui.all_users()
    ids = [u.id for u in listed if getattr(u, "role", "") == "user"]
    groups = OpenWebUIGroups()
    if task.group_names():
        await groups.refresh()
    return [i for i in ids if user_filter_allows(task, i, groups)]


async def status(emit: Emit, text: str, *, done: bool = False) -> None:
    if emit is not None:
        try:
            await emit({"type": "status", "data": {"description": text, "done": done}})
        except Exception:
            log.debug("status event not delivered", exc_info=True)


def task_answer(task_kind: str, title: str) -> str:
    """What an agent model answers to Open WebUI's own tasks (title, tags, follow-ups): nothing is run."""
    view = find_view(title)  # the Pipe passes a view's suffix as its title: the view's name reads better
    title = view.name if view is not None else title
    if "title" in task_kind:
        return json.dumps({"title": title})
    if "tags" in task_kind:
        return json.dumps({"tags": []})
    if "follow" in task_kind:
        return json.dumps({"follow_ups": []})
    return ""


async def run_by_hand(bundle: Bundle, task_name: str, user: dict[str, Any], text: str, emit: Emit) -> str:
    """An admin's manual run. Raises a UserFacingError (PermissionDenied for anyone else, ManualRunRefused for a
    task with `manual = false`): the plugin shows its text as the refusal. A view model never runs: it says so."""
    view = find_view(task_name)
    if view is not None:
        return view.not_run
    if (user or {}).get("role") != "admin":
        raise PermissionDenied(
            "Background agents run on their own; only an administrator can run one by hand. "
            "Your agent's reports appear in its folder in your chat list."
        )
    try:
        course, task = bundle.find_task(task_name)
    except NotFound as exc:
        return f"This agent is not configured any more: {exc}"
    if not task.manual:
        raise ManualRunRefused(f"Task {task.name} has manual = false in {course.id}'s course file: it cannot be run by hand.")
    targets, problems = await resolve_targets(text, user)
    if targets is None:
        targets = await all_students(task)
    if not targets:
        return "\n".join([f"Nothing to run. {TARGETS_HELP}", *[f"- {p}" for p in problems]])
    parts = await bundle.start()
    if parts is None or parts.scheduler is None or parts.runner is None:
        why = parts.problem if parts is not None and parts.problem else "the state store cannot be opened (see the log)"
        return f"{task.title} cannot run now: {why}."
    await status(emit, f"Running {task.title} for {len(targets)} student(s)…")

    def progress(student: Any) -> None:
        log.info("manual run %s: %s %s", task.name, student.user_id, student.status)

    report = await manual_run(parts.scheduler, parts.runner, task.name, targets, progress=progress)
    await status(emit, f"{task.title}: done", done=True)
    return render_summary(task.title, report, problems, await people([s.user_id for s in report.students]))


async def people(user_ids: list[str]) -> dict[str, tuple[str, str]]:
    """user id -> (name, email) from Open WebUI's users, for the summary; an id that cannot be looked up is left out
    (the summary then shows the id)."""
    found: dict[str, tuple[str, str]] = {}
    for user_id in dict.fromkeys(user_ids):
        try:
            user = await owui.user_by_id(user_id)
        except Exception:
            log.warning("manual run summary: user %s could not be looked up", user_id, exc_info=True)
            continue
        if user is not None:
            found[user_id] = (str(getattr(user, "name", "") or ""), str(getattr(user, "email", "") or ""))
    return found


_MARKDOWN = re.compile(r"([\\`*_\[\]()<>#|])")


def _plain(text: str) -> str:
    """A name as literal Markdown text (a student's name could otherwise make a link or a heading)."""
    return _MARKDOWN.sub(r"\\\1", " ".join(text.split()))


def _who(user_id: str, names: dict[str, tuple[str, str]]) -> str:
    name, email = names.get(user_id, ("", ""))
    if name and email:
        return f"{_plain(name)} ({_plain(email)})"
    return _plain(name or email) or f"`{user_id}`"


def render_summary(title: str, report: Any, problems: list[str], names: dict[str, tuple[str, str]] | None = None) -> str:
    """The admin's reply to a manual run: per student their name and email (`names`, from `people`), the outcome,
    a link to the thread written for them, and why a run failed."""
    names = names or {}
    lines = [f"## {title}: manual run", ""]
    lines.append(
        f"{len(report.students)} student(s): {report.succeeded} succeeded, {report.failed} failed, "
        f"{report.skipped} skipped; {report.diffs_proposed} change(s) proposed."
    )
    lines.append("")
    for s in report.students:
        parts = [f"- {_who(s.user_id, names)}: {s.status}, {s.diffs_proposed} change(s)"]
        if getattr(s, "thread_chat_id", None):
            parts.append(f"[open the thread](/c/{s.thread_chat_id})")
        elif getattr(s, "no_report", ""):
            parts.append(str(s.no_report))
        reasons = s.errors() if callable(getattr(s, "errors", None)) else [getattr(s, "error", "")]
        reasons = [" ".join(str(r).split()) for r in reasons if r]
        if reasons and s.status != "succeeded":
            parts.append("why: " + "; ".join(reasons))
        elif reasons:
            parts.append("problems: " + "; ".join(reasons))
        lines.append(" · ".join(parts))
    for p in problems:
        lines.append(f"- not run: {p}")
    return "\n".join(lines) + "\n"
