"""Building a Runner outside Open WebUI (the `youlab run` CLI and the `youlab scheduler` process).

Inside Open WebUI the bundle builds its own (in-process message source, the admin's models, run threads written
through Open WebUI's tables): see youlab_core.bundle.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

from ..config import CourseRegistry
from .runner import ReportWriter, Runner

log = logging.getLogger(__name__)


def openwebui_db_available() -> bool:
    """Whether this process was pointed at Open WebUI's own database: DATABASE_URL, or DATA_DIR holding webui.db.

    Only explicit environment counts (not a default ./.data that may belong to a different instance), since reading
    chats or writing threads there is only right for the Open WebUI this deployment runs.
    """
    from ..openwebui import internals as owui

    if not owui.installed():
        return False
    data_dir = os.environ.get("DATA_DIR")
    return bool(os.environ.get("DATABASE_URL")) or bool(data_dir and (Path(data_dir) / "webui.db").exists())


def build_runner(settings: Any, registry: CourseRegistry, state: Any, *, memory: Any = None, llm: Any = None,
                 rest_client: Any = None, use_openwebui_db: bool = False,
                 report_writer: ReportWriter | None = None) -> Runner:
    """A Runner from settings: memory store (+ Letta sync when configured), LLM endpoint, dialectic, threads.

    Messages are read over REST when `rest_client` (an admin OpenWebUIClient) is given, else from Open WebUI's
    database with `use_openwebui_db` (then run threads are written there too, unless a `report_writer` is given).
    Without either, the report is the run's only output.
    """
    from ..dialectic import InProcessMessageSource, RestMessageSource, make_dialectic
    from ..llm import make_llm
    from ..memory import MemoryStore

    if memory is None:
        memory = MemoryStore.from_settings(settings, courses=registry)
        if settings.letta_url:
            from ..letta import LettaSync

            memory.add_listener(LettaSync(settings, memory, state, registry=registry))
    if llm is None and (settings.llm_base_url or not settings.honcho_url):
        llm = make_llm(settings)  # ConfigError naming the missing setting when there is none
    if rest_client is not None:
        source: Any = RestMessageSource(rest_client)
    elif use_openwebui_db:
        source = InProcessMessageSource()
    else:
        source = None
    registry_check = state.is_agent_thread if state is not None else None
    dialectic = make_dialectic(settings, llm=llm, source=source, is_agent_thread=registry_check)
    if report_writer is None and use_openwebui_db:
        from ..threads import OpenWebUIChats, ThreadWriter as OpenWebUIThreadWriter
        from ..threads.runner_writer import RunnerThreadWriter

        report_writer = RunnerThreadWriter(OpenWebUIThreadWriter(OpenWebUIChats(), state,
                                                                 archive_old_threads=settings.archive_old_threads))
    return Runner(settings, registry, memory, state, dialectic, llm, report_writer=report_writer)


def make_handler(settings: Any, registry: CourseRegistry, store: Any) -> Any:
    """The handler `youlab scheduler` hands due work to (see youlab_core.scheduler).

    Chats are read from Open WebUI's database when this process was pointed at it (DATA_DIR/DATABASE_URL), else over
    REST when `openwebui_url` and an admin `openwebui_api_key` are set; with neither, Honcho must be configured.
    """
    use_db = openwebui_db_available()
    client = None
    key = settings.openwebui_api_key.get_secret_value()
    if not use_db and settings.openwebui_url and key:
        from ..openwebui import OpenWebUIClient

        client = OpenWebUIClient(settings.openwebui_url, token=key, timeout=settings.call_timeout_seconds)
    return build_runner(settings, registry, store, rest_client=client, use_openwebui_db=use_db).run_work
