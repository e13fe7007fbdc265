"""
title: YouLab review (approve / reject)
author: YouLab
version: 0.1.0
description: Buttons under a background agent's report: approve all, reject all, or review each proposed change (with an optional note). Only the student the report is for can decide. Attached to the agent models through their model records, not global.
license: MIT
requirements: youlab-core
"""

from __future__ import annotations

from typing import Any

from youlab_core.bundle import bundle_for, stored_filter_settings
from youlab_core.bundle import review as bundle_review


class Action:
    # One button per entry; Open WebUI calls action() with __id__ = the entry's id.
    actions = [
        {"id": "approve_all", "name": "Approve all changes"},
        {"id": "reject_all", "name": "Reject all changes"},
        {"id": "review", "name": "Review each change"},
    ]

    async def action(
        self,
        body: dict,
        __user__: dict | None = None,
        __id__: str | None = None,
        __event_call__: Any = None,
        __event_emitter__: Any = None,
    ) -> dict | None:
        bundle = bundle_for(await stored_filter_settings())
        try:
            return await bundle_review.review(
                bundle, __id__ or "review", body, __user__ or {}, event_call=__event_call__, event_emitter=__event_emitter__
            )
        except (bundle_review.ReviewError, bundle_review.PermissionDenied) as exc:
            raise Exception(str(exc)) from None
