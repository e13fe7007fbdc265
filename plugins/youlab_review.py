"""
title: YouLab review (approve / reject)
author: YouLab
version: 0.1.0
description: Buttons under a background agent's report and the student's memory view: approve all, reject all, or review each proposed change (with an optional note). Only the student it is for can act. Attached to the agent models and the memory view's model through their model records, not global.
license: MIT
requirements: youlab-core
"""

from __future__ import annotations

from typing import Any

from youlab_core.bundle import review as bundle_review
from youlab_core.bundle.buttons import press


class Action:
    # One button per entry; Open WebUI calls action() with __id__ = the entry's id. Icons: a tick, a cross, a list.
    actions = [
        {"id": "approve_all", "name": "Approve all changes", "icon_url": "data:image/svg+xml;base64,PHN2ZyB4bWxucz0iaHR0cDovL3d3dy53My5vcmcvMjAwMC9zdmciIHZpZXdCb3g9IjAgMCAyNCAyNCIgZmlsbD0ibm9uZSIgc3Ryb2tlPSIjNmI3MjgwIiBzdHJva2Utd2lkdGg9IjIiIHN0cm9rZS1saW5lY2FwPSJyb3VuZCIgc3Ryb2tlLWxpbmVqb2luPSJyb3VuZCI+PHBhdGggZD0iTTQgMTJsNSA1TDIwIDYiLz48L3N2Zz4="},
        {"id": "reject_all", "name": "Reject all changes", "icon_url": "data:image/svg+xml;base64,PHN2ZyB4bWxucz0iaHR0cDovL3d3dy53My5vcmcvMjAwMC9zdmciIHZpZXdCb3g9IjAgMCAyNCAyNCIgZmlsbD0ibm9uZSIgc3Ryb2tlPSIjNmI3MjgwIiBzdHJva2Utd2lkdGg9IjIiIHN0cm9rZS1saW5lY2FwPSJyb3VuZCIgc3Ryb2tlLWxpbmVqb2luPSJyb3VuZCI+PHBhdGggZD0iTTYgNmwxMiAxMk0xOCA2TDYgMTgiLz48L3N2Zz4="},
        {"id": "review", "name": "Review each change", "icon_url": "data:image/svg+xml;base64,PHN2ZyB4bWxucz0iaHR0cDovL3d3dy53My5vcmcvMjAwMC9zdmciIHZpZXdCb3g9IjAgMCAyNCAyNCIgZmlsbD0ibm9uZSIgc3Ryb2tlPSIjNmI3MjgwIiBzdHJva2Utd2lkdGg9IjIiIHN0cm9rZS1saW5lY2FwPSJyb3VuZCIgc3Ryb2tlLWxpbmVqb2luPSJyb3VuZCI+PHBhdGggZD0iTTkgNmgxMU05IDEyaDExTTkgMThoMTFNNCA2aC4wMU00IDEyaC4wMU00IDE4aC4wMSIvPjwvc3ZnPg=="},
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
        return await press(bundle_review.review, __id__ or "review", body, __user__, event_call=__event_call__,
                           event_emitter=__event_emitter__, failed=bundle_review.SAVE_FAILED)
