"""
title: YouLab review (approve / reject)
author: YouLab
version: 0.1.0
description: Buttons under a background agent's report: approve all, reject all, or review each proposed change (with an optional note); in the student's memory view also history, undo, edit and download of their memory. Only the student it is for can act. Attached to the agent models through their model records, not global.
license: MIT
requirements: youlab-core
"""

from __future__ import annotations

import logging
from typing import Any

from youlab_core.bundle import bundle_for, stored_filter_settings
from youlab_core.bundle import review as bundle_review
from youlab_core.errors import UserFacingError

log = logging.getLogger("youlab.review")


class Action:
    # One button per entry; Open WebUI calls action() with __id__ = the entry's id. Icons: a tick, a cross, a list;
    # then the memory view's buttons (a clock, an arrow back, a pencil, an arrow down), which under a run report
    # point the student to their memory view.
    actions = [
        {"id": "approve_all", "name": "Approve all changes", "icon_url": "data:image/svg+xml;base64,PHN2ZyB4bWxucz0iaHR0cDovL3d3dy53My5vcmcvMjAwMC9zdmciIHZpZXdCb3g9IjAgMCAyNCAyNCIgZmlsbD0ibm9uZSIgc3Ryb2tlPSIjNmI3MjgwIiBzdHJva2Utd2lkdGg9IjIiIHN0cm9rZS1saW5lY2FwPSJyb3VuZCIgc3Ryb2tlLWxpbmVqb2luPSJyb3VuZCI+PHBhdGggZD0iTTQgMTJsNSA1TDIwIDYiLz48L3N2Zz4="},
        {"id": "reject_all", "name": "Reject all changes", "icon_url": "data:image/svg+xml;base64,PHN2ZyB4bWxucz0iaHR0cDovL3d3dy53My5vcmcvMjAwMC9zdmciIHZpZXdCb3g9IjAgMCAyNCAyNCIgZmlsbD0ibm9uZSIgc3Ryb2tlPSIjNmI3MjgwIiBzdHJva2Utd2lkdGg9IjIiIHN0cm9rZS1saW5lY2FwPSJyb3VuZCIgc3Ryb2tlLWxpbmVqb2luPSJyb3VuZCI+PHBhdGggZD0iTTYgNmwxMiAxMk0xOCA2TDYgMTgiLz48L3N2Zz4="},
        {"id": "review", "name": "Review each change", "icon_url": "data:image/svg+xml;base64,PHN2ZyB4bWxucz0iaHR0cDovL3d3dy53My5vcmcvMjAwMC9zdmciIHZpZXdCb3g9IjAgMCAyNCAyNCIgZmlsbD0ibm9uZSIgc3Ryb2tlPSIjNmI3MjgwIiBzdHJva2Utd2lkdGg9IjIiIHN0cm9rZS1saW5lY2FwPSJyb3VuZCIgc3Ryb2tlLWxpbmVqb2luPSJyb3VuZCI+PHBhdGggZD0iTTkgNmgxMU05IDEyaDExTTkgMThoMTFNNCA2aC4wMU00IDEyaC4wMU00IDE4aC4wMSIvPjwvc3ZnPg=="},
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
        # Open WebUI shows a plain Exception's text as is: a UserFacingError's own words, else one fixed sentence.
        try:
            bundle = bundle_for(await stored_filter_settings(), settings_source=stored_filter_settings)
            await bundle.start()  # the thread registry the review re-renders through
            return await bundle_review.review(
                bundle, __id__ or "review", body, __user__ or {}, event_call=__event_call__, event_emitter=__event_emitter__
            )
        except UserFacingError as exc:
            raise Exception(str(exc)) from None
        except Exception:
            log.exception("YouLab review %r failed", __id__)
            raise Exception(bundle_review.SAVE_FAILED) from None
