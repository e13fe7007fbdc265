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

from youlab_core.bundle import Bundle, BundleValves, bundle_for, settings_from_values, stored_filter_settings
from youlab_core.bundle import filter as bundle_filter

log = logging.getLogger("youlab.filter")


class Filter:
    class Valves(BundleValves):
        priority: int = Field(default=-100, description="Filter order (lower runs first). Runs early so no other filter or model sees a message into a read-only agent thread.")

    def __init__(self) -> None:
        self.valves = self.Valves()

    def _bundle(self) -> Bundle:
        return bundle_for(settings_from_values(self.valves), settings_source=stored_filter_settings)

    async def inlet(self, body: dict, __user__: dict | None = None, __metadata__: dict | None = None, __model__: dict | None = None) -> dict:
        try:
            return await bundle_filter.inlet(self._bundle(), body, user=__user__ or {}, metadata=__metadata__ or {}, model=__model__)
        except bundle_filter.ReadOnlyThread as exc:
            raise Exception(str(exc)) from None  # plain Exception: Open WebUI shows its text as is

    async def outlet(self, body: dict, __user__: dict | None = None, __metadata__: dict | None = None, __model__: dict | None = None) -> dict:
        try:
            return await bundle_filter.outlet(self._bundle(), body, user=__user__ or {}, metadata=__metadata__ or {}, model=__model__)
        except Exception:  # the reply is never affected by the bundle
            log.exception("YouLab outlet failed")
            return body
