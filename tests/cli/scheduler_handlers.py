"""Handler factories for the `youlab scheduler --handler` tests (see test_scheduler_cmd.py)."""

from __future__ import annotations

import asyncio
import os
from typing import Any

from youlab_core.scheduler import DueWork


def recording(settings: Any, registry: Any, store: Any) -> Any:
    async def handler(work: DueWork) -> None:
        with open(os.environ["YOULAB_TEST_OUT"], "a") as out:
            out.writelines(f"{work.task} {u}\n" for u in work.user_ids)

    return handler


def hanging(settings: Any, registry: Any, store: Any) -> Any:
    async def handler(work: DueWork) -> None:
        with open(os.environ["YOULAB_TEST_OUT"], "a") as out:
            out.writelines(f"started {work.task} {u}\n" for u in work.user_ids)
        await asyncio.Event().wait()

    return handler
