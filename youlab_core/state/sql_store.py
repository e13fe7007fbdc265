"""`SqlStateStore`: the state store on SQLite (default) or PostgreSQL, and `open_store`."""

from __future__ import annotations

from ..settings import Settings
from ..triggers.clock import Clock
from .base import StateStore
from .engine import make_engines
from .migrations import migrate
from .sql_claims import ClaimStoreMixin
from .sql_controls import ControlStoreMixin
from .sql_dashboard import DashboardStoreMixin
from .sql_folders import FolderStoreMixin
from .sql_records import RecordStoreMixin
from .sql_triggers import TriggerStoreMixin


class SqlStateStore(TriggerStoreMixin, ClaimStoreMixin, RecordStoreMixin, FolderStoreMixin, ControlStoreMixin,
                    DashboardStoreMixin, StateStore):
    """Every role of the state store (see base.py) on one database: activity and trigger state in sql_triggers,
    claims in sql_claims, run records, the thread registry and the outbox in sql_records, the agent folders the
    bundle made in sql_folders, paused tasks in sql_controls, the dashboard's students page in sql_dashboard."""

    def close(self) -> None:
        self.engines.dispose()

    def __enter__(self) -> SqlStateStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_store(
    settings: Settings | None = None, *, url: str | None = None, clock: Clock | None = None, migrate_schema: bool = True
) -> SqlStateStore:
    """Open (and by default create or upgrade) the state database named by `url` or `settings.database_url`."""
    settings = settings or Settings.from_env()
    engines = make_engines(url or settings.database_url)
    if migrate_schema:
        migrate(engines)
    store = SqlStateStore(engines, clock)
    store.outbox_max_items = settings.outbox_max_items
    store.outbox_max_attempts = settings.outbox_max_attempts
    return store
