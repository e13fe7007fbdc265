"""
title: YouLab memory (history / undo / edit / download)
author: YouLab
version: 0.1.0
description: Buttons under the student's memory view ("Your memory" pinned in their chat list): the history of a field, undo a change or restore an earlier value, edit a field by hand, download all their YouLab data. Only the student whose memory it is can act. Attached to the memory view's hidden model through its model record, not global.
license: MIT
requirements: youlab-core
"""

from __future__ import annotations

from typing import Any

from youlab_core.bundle import memory_actions
from youlab_core.bundle.buttons import press
from youlab_core.bundle.review_notice import SAVE_FAILED


class Action:
    # One button per entry; Open WebUI calls action() with __id__ = the entry's id. Icons: a clock, an arrow back,
    # a pencil, an arrow down.
    actions = [
        {"id": "history", "name": "History of a field", "icon_url": "data:image/svg+xml;base64,PHN2ZyB4bWxucz0iaHR0cDovL3d3dy53My5vcmcvMjAwMC9zdmciIHZpZXdCb3g9IjAgMCAyNCAyNCIgZmlsbD0ibm9uZSIgc3Ryb2tlPSIjNmI3MjgwIiBzdHJva2Utd2lkdGg9IjIiIHN0cm9rZS1saW5lY2FwPSJyb3VuZCIgc3Ryb2tlLWxpbmVqb2luPSJyb3VuZCI+PGNpcmNsZSBjeD0iMTIiIGN5PSIxMiIgcj0iOSIvPjxwYXRoIGQ9Ik0xMiA3djVsMyAyIi8+PC9zdmc+"},
        {"id": "undo", "name": "Undo a change", "icon_url": "data:image/svg+xml;base64,PHN2ZyB4bWxucz0iaHR0cDovL3d3dy53My5vcmcvMjAwMC9zdmciIHZpZXdCb3g9IjAgMCAyNCAyNCIgZmlsbD0ibm9uZSIgc3Ryb2tlPSIjNmI3MjgwIiBzdHJva2Utd2lkdGg9IjIiIHN0cm9rZS1saW5lY2FwPSJyb3VuZCIgc3Ryb2tlLWxpbmVqb2luPSJyb3VuZCI+PHBhdGggZD0iTTkgMTRMNCA5bDUtNSIvPjxwYXRoIGQ9Ik00IDloMTFhNSA1IDAgMDEwIDEwaC0zIi8+PC9zdmc+"},
        {"id": "edit", "name": "Edit a field", "icon_url": "data:image/svg+xml;base64,PHN2ZyB4bWxucz0iaHR0cDovL3d3dy53My5vcmcvMjAwMC9zdmciIHZpZXdCb3g9IjAgMCAyNCAyNCIgZmlsbD0ibm9uZSIgc3Ryb2tlPSIjNmI3MjgwIiBzdHJva2Utd2lkdGg9IjIiIHN0cm9rZS1saW5lY2FwPSJyb3VuZCIgc3Ryb2tlLWxpbmVqb2luPSJyb3VuZCI+PHBhdGggZD0iTTQgMjBoNEwxOSA5bC00LTRMNCAxNnoiLz48L3N2Zz4="},
        {"id": "download", "name": "Download my data", "icon_url": "data:image/svg+xml;base64,PHN2ZyB4bWxucz0iaHR0cDovL3d3dy53My5vcmcvMjAwMC9zdmciIHZpZXdCb3g9IjAgMCAyNCAyNCIgZmlsbD0ibm9uZSIgc3Ryb2tlPSIjNmI3MjgwIiBzdHJva2Utd2lkdGg9IjIiIHN0cm9rZS1saW5lY2FwPSJyb3VuZCIgc3Ryb2tlLWxpbmVqb2luPSJyb3VuZCI+PHBhdGggZD0iTTEyIDR2MTFNNyAxMGw1IDUgNS01TTUgMjBoMTQiLz48L3N2Zz4="},
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
        return await press(memory_actions.button, __id__ or "", body, __user__, event_call=__event_call__,
                           event_emitter=__event_emitter__, failed=SAVE_FAILED)
