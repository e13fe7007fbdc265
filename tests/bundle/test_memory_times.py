"""Times the student reads always name their zone: the student's own (Open WebUI's `user.timezone`, which their
browser sends at every page load) where it is known, else UTC, said (youlab_core/threads/report.py `when_text`):
in the memory view's last-change column, a field's history, the undo dialog and a run report's heading."""

from __future__ import annotations

import re
from datetime import datetime, timezone
from typing import Any

import pytest

from youlab_core.bundle import memory_view
from youlab_core.bundle.memory_actions import button
from youlab_core.threads.memory_view import memory_chat_id
from youlab_core.threads.report import ThreadReport, render_report, when_text

from youlab_core.bundle.review import review

from .test_review import action_body, make_thread

AT = datetime(2026, 11, 26, 14, 20, tzinfo=timezone.utc)


@pytest.mark.parametrize(("zone", "expected"), [
    (None, "Nov 26, 2026 14:20 UTC"),
    ("", "Nov 26, 2026 14:20 UTC"),
    ("America/New_York", "Nov 26, 2026 09:20 EST"),
    ("Europe/Paris", "Nov 26, 2026 15:20 CET"),
    ("America/Sao_Paulo", "Nov 26, 2026 11:20 America/Sao_Paulo"),  # its abbreviation is "-03": the name says more
    ("Not/A_Zone", "Nov 26, 2026 14:20 UTC"),
])
def test_a_time_names_its_zone(zone: str | None, expected: str) -> None:
    assert when_text(AT, zone) == expected
    assert when_text(AT.isoformat(), zone) == expected


def test_a_run_reports_heading_says_utc() -> None:
    report = ThreadReport("progression-grader", "Progression Grader", "college-essay", "run-1", AT.isoformat())
    assert render_report(report).startswith("## Progression Grader: run of Nov 26, 2026 14:20 UTC\n")


def view_text(bundle: Any) -> str:
    chat = bundle.backend.chats[memory_chat_id("stu-1", "college-essay")]
    return next(iter(chat.chat["history"]["messages"].values()))["content"]


async def test_the_view_history_and_undo_use_the_students_zone(bundle_env, monkeypatch: pytest.MonkeyPatch) -> None:
    _, bundle, _ = bundle_env
    ref, changes, _, _ = await make_thread(bundle, "stu-1", [("journey", "grader_notes", "A")])
    await review(bundle, "approve_all", action_body(ref, confirm=True), {"id": "stu-1"})
    assert re.search(r"changed \w{3} \d{1,2}, \d{4} \d\d:\d\d UTC by Progression Grader", view_text(bundle))

    async def zone_of(_bundle: Any, user_id: str) -> str | None:
        return "America/New_York" if user_id == "stu-1" else None
    monkeypatch.setattr(memory_view, "user_zone", zone_of)  # what Open WebUI's user record says
    await memory_view.refresh(bundle, "stu-1", bundle.courses.course("college-essay"))  # as after any decision
    assert re.search(r"changed \w{3} \d{1,2}, \d{4} \d\d:\d\d E[SD]T by Progression Grader", view_text(bundle))

    student = {"id": "stu-1", "role": "user", "timezone": "Asia/Tokyo"}  # as Open WebUI hands it to the Action
    body = {"chat_id": memory_chat_id("stu-1", "college-essay"), "youlab": {"field": "journey.grader_notes"}}
    await button(bundle, "history", body, student)
    assert re.search(r"\*\*\w{3} \d{1,2}, \d{4} \d\d:\d\d JST\*\* \u00b7 Progression Grader", view_text(bundle))
    asked: list[dict[str, Any]] = []

    async def event_call(event: dict[str, Any]) -> Any:
        asked.append(event)
        return None if len(asked) > 1 else "journey.grader_notes"
    await button(bundle, "edit", {"chat_id": body["chat_id"], "youlab": {"field": "journey.grader_notes",
                                                                        "value": "B"}}, student)
    await button(bundle, "undo", {"chat_id": body["chat_id"]}, student, event_call=event_call)
    options = asked[1]["data"]["options"]
    assert any(re.search(r"changed it on \w{3} \d{1,2}, \d{4} \d\d:\d\d JST\)", o["label"]) for o in options), options
