"""
title: YouLab (global filter)
author: YouLab
version: 0.1.0
description: Keeps background-agent threads read-only, counts students' messages for the agents' triggers, queues them for Honcho, starts due agents after replies, and (optionally) adds approved memory to the tutor's prompt. Install globally. Holds the settings the YouLab agents and review action also use.
license: MIT
requirements: youlab-core
"""

from __future__ import annotations

import logging

from pydantic import Field

from youlab_core.bundle import BundleValves, current_bundle
from youlab_core.bundle import filter as bundle_filter

log = logging.getLogger("youlab.filter")


class Filter:
    class Valves(BundleValves):
        priority: int = Field(default=-100, description="Filter order (lower runs first). Runs early so no other filter or model sees a message into a read-only agent thread.")

    # No `self.valves` on purpose: Open WebUI then skips reading and validating the stored valves on every inlet and
    # outlet (utils/filter.py apply_filter_valves), which cost more than the filter's own work. The bundle reads the
    # stored valves itself and follows every change within seconds (youlab_core.bundle.context.current_bundle).

    async def inlet(self, body: dict, __user__: dict | None = None, __metadata__: dict | None = None, __model__: dict | None = None) -> dict:
        try:
            bundle = await current_bundle()
        except Exception:  # the read-only guard fails closed: without settings no chat can be checked
            log.exception("YouLab could not read its settings; the message is refused")
            raise Exception(bundle_filter.GUARD_UNAVAILABLE) from None
        try:
            return await bundle_filter.inlet(bundle, body, user=__user__ or {}, metadata=__metadata__ or {}, model=__model__)
        except bundle_filter.ReadOnlyThread as exc:
            raise Exception(str(exc)) from None  # plain Exception: Open WebUI shows its text as is

    async def outlet(self, body: dict, __user__: dict | None = None, __metadata__: dict | None = None, __model__: dict | None = None) -> dict:
        try:
            return await bundle_filter.outlet(await current_bundle(), body, user=__user__ or {}, metadata=__metadata__ or {}, model=__model__)
        except Exception:  # the reply is never affected by the bundle
            log.exception("YouLab outlet failed")
            return body
