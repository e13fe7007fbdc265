"""
title: YouLab agents (hidden models)
author: YouLab
version: 0.1.0
description: Lists every background agent configured in the course files as a hidden model (youlab_agents.<task>) and keeps their model records. An admin can run an agent by hand by messaging its model with `me`, user ids, emails or `all`; everyone else is refused. Settings come from the YouLab filter's valves.
license: MIT
requirements: youlab-core
"""

from __future__ import annotations

import logging
from typing import Any

from youlab_core.bundle import Bundle, bundle_for, stored_filter_settings
from youlab_core.bundle import agents as bundle_agents
from youlab_core.bundle.filter import last_message

log = logging.getLogger("youlab.agents")


class Pipe:
    def __init__(self) -> None:
        self.type = "manifold"

    async def _bundle(self) -> Bundle:
        return bundle_for(await stored_filter_settings(), settings_source=stored_filter_settings)

    async def pipes(self) -> list[dict[str, str]]:
        bundle = await self._bundle()
        try:
            await bundle_agents.ensure_model_records(bundle)
        except Exception:  # the model list must still load; the next refresh tries again
            log.exception("YouLab could not write the agent models' records")
        await bundle.start()  # the background parts run from the first model list on, before any chat
        return bundle_agents.pipe_list(bundle)

    async def pipe(
        self,
        body: dict,
        __user__: dict | None = None,
        __metadata__: dict | None = None,
        __task__: str | None = None,
        __event_emitter__: Any = None,
    ) -> str:
        bundle = await self._bundle()
        task_name = str(body.get("model", "")).split(".", 1)[-1]
        if __task__:
            return bundle_agents.task_answer(str(__task__), bundle.agent_name(task_name) or task_name)
        try:
            return await bundle_agents.run_by_hand(bundle, task_name, __user__ or {}, last_message(body, "user"), __event_emitter__)
        except bundle_agents.UserFacingError as exc:
            raise Exception(str(exc)) from None
