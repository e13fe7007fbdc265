"""
title: YouLab course dashboard (runs, health, students; run, retry, pause)
author: YouLab
version: 0.1.0
description: Buttons under the course dashboard ("Course dashboard" pinned in the chat list of Open WebUI admins and of the course's teachers): refresh with a filter, the course's students, a student's memory (when the course allows it; the student sees who looked), run a task by hand, retry a failed run, pause and resume a task. Every button checks on the server who may act on which course; students and teachers of other courses are refused. Attached to the dashboard's hidden model through its model record, not global.
license: MIT
requirements: youlab-core
"""

from __future__ import annotations

from typing import Any

from youlab_core.bundle import dashboard_actions
from youlab_core.bundle.buttons import press


class Action:
    # One button per entry; Open WebUI calls action() with __id__ = the entry's id. Icons: arrows in a circle, people,
    # an eye, a play sign, an arrow round, a pause sign, a play sign in a circle.
    actions = [
        {"id": "refresh", "name": "Refresh", "icon_url": "data:image/svg+xml;base64,PHN2ZyB4bWxucz0iaHR0cDovL3d3dy53My5vcmcvMjAwMC9zdmciIHZpZXdCb3g9IjAgMCAyNCAyNCIgZmlsbD0ibm9uZSIgc3Ryb2tlPSIjNmI3MjgwIiBzdHJva2Utd2lkdGg9IjIiIHN0cm9rZS1saW5lY2FwPSJyb3VuZCIgc3Ryb2tlLWxpbmVqb2luPSJyb3VuZCI+PHBhdGggZD0iTTIwIDEyYTggOCAwIDEgMS0yLjMtNS43TTIwIDR2NWgtNSIvPjwvc3ZnPg=="},
        {"id": "students", "name": "Students of a course", "icon_url": "data:image/svg+xml;base64,PHN2ZyB4bWxucz0iaHR0cDovL3d3dy53My5vcmcvMjAwMC9zdmciIHZpZXdCb3g9IjAgMCAyNCAyNCIgZmlsbD0ibm9uZSIgc3Ryb2tlPSIjNmI3MjgwIiBzdHJva2Utd2lkdGg9IjIiIHN0cm9rZS1saW5lY2FwPSJyb3VuZCIgc3Ryb2tlLWxpbmVqb2luPSJyb3VuZCI+PGNpcmNsZSBjeD0iOSIgY3k9IjgiIHI9IjMiLz48cGF0aCBkPSJNMyAyMGE2IDYgMCAwIDEgMTIgME0xNiA1YTMgMyAwIDAgMSAwIDZNMTggMjBhNiA2IDAgMCAwLTMtNSIvPjwvc3ZnPg=="},
        {"id": "memory", "name": "Memory of a student", "icon_url": "data:image/svg+xml;base64,PHN2ZyB4bWxucz0iaHR0cDovL3d3dy53My5vcmcvMjAwMC9zdmciIHZpZXdCb3g9IjAgMCAyNCAyNCIgZmlsbD0ibm9uZSIgc3Ryb2tlPSIjNmI3MjgwIiBzdHJva2Utd2lkdGg9IjIiIHN0cm9rZS1saW5lY2FwPSJyb3VuZCIgc3Ryb2tlLWxpbmVqb2luPSJyb3VuZCI+PHBhdGggZD0iTTIgMTJzNC03IDEwLTcgMTAgNyAxMCA3LTQgNy0xMCA3UzIgMTIgMiAxMnoiLz48Y2lyY2xlIGN4PSIxMiIgY3k9IjEyIiByPSIzIi8+PC9zdmc+"},
        {"id": "run", "name": "Run by hand", "icon_url": "data:image/svg+xml;base64,PHN2ZyB4bWxucz0iaHR0cDovL3d3dy53My5vcmcvMjAwMC9zdmciIHZpZXdCb3g9IjAgMCAyNCAyNCIgZmlsbD0ibm9uZSIgc3Ryb2tlPSIjNmI3MjgwIiBzdHJva2Utd2lkdGg9IjIiIHN0cm9rZS1saW5lY2FwPSJyb3VuZCIgc3Ryb2tlLWxpbmVqb2luPSJyb3VuZCI+PHBhdGggZD0iTTcgNWwxMiA3LTEyIDd6Ii8+PC9zdmc+"},
        {"id": "retry", "name": "Retry a failed run", "icon_url": "data:image/svg+xml;base64,PHN2ZyB4bWxucz0iaHR0cDovL3d3dy53My5vcmcvMjAwMC9zdmciIHZpZXdCb3g9IjAgMCAyNCAyNCIgZmlsbD0ibm9uZSIgc3Ryb2tlPSIjNmI3MjgwIiBzdHJva2Utd2lkdGg9IjIiIHN0cm9rZS1saW5lY2FwPSJyb3VuZCIgc3Ryb2tlLWxpbmVqb2luPSJyb3VuZCI+PHBhdGggZD0iTTQgMTJhOCA4IDAgMSAwIDIuMy01LjdNNCA0djVoNSIvPjwvc3ZnPg=="},
        {"id": "pause", "name": "Pause a task", "icon_url": "data:image/svg+xml;base64,PHN2ZyB4bWxucz0iaHR0cDovL3d3dy53My5vcmcvMjAwMC9zdmciIHZpZXdCb3g9IjAgMCAyNCAyNCIgZmlsbD0ibm9uZSIgc3Ryb2tlPSIjNmI3MjgwIiBzdHJva2Utd2lkdGg9IjIiIHN0cm9rZS1saW5lY2FwPSJyb3VuZCIgc3Ryb2tlLWxpbmVqb2luPSJyb3VuZCI+PHBhdGggZD0iTTkgNXYxNE0xNSA1djE0Ii8+PC9zdmc+"},
        {"id": "resume", "name": "Resume a task", "icon_url": "data:image/svg+xml;base64,PHN2ZyB4bWxucz0iaHR0cDovL3d3dy53My5vcmcvMjAwMC9zdmciIHZpZXdCb3g9IjAgMCAyNCAyNCIgZmlsbD0ibm9uZSIgc3Ryb2tlPSIjNmI3MjgwIiBzdHJva2Utd2lkdGg9IjIiIHN0cm9rZS1saW5lY2FwPSJyb3VuZCIgc3Ryb2tlLWxpbmVqb2luPSJyb3VuZCI+PGNpcmNsZSBjeD0iMTIiIGN5PSIxMiIgcj0iOSIvPjxwYXRoIGQ9Ik0xMCA4bDYgNC02IDR6Ii8+PC9zdmc+"},
    ]

    async def action(
        self,
        body: dict,
        __user__: dict | None = None,
        __id__: str | None = None,
        __event_call__: Any = None,
        __event_emitter__: Any = None,
    ) -> dict | None:
        # Open WebUI shows the text of what this raises as is: youlab_core.bundle.buttons.press makes it a sentence.
        return await press(dashboard_actions.button, __id__ or "", body, __user__, event_call=__event_call__,
                           event_emitter=__event_emitter__, failed=dashboard_actions.FAILED)
