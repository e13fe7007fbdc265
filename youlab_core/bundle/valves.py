"""The bundle's valves (Open WebUI's admin-editable plugin settings) and how they become `Settings`.

The filter (`youlab_filter`) holds the valves; the agents Pipe and the review Action read the filter's stored
valves, so an admin sets the configuration once. An empty valve means "use the YOULAB_<NAME> environment variable,
else the built-in default" (docs/bundle.md lists them).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from ..openwebui import internals as owui
from ..settings import Settings

FILTER_ID = "youlab_filter"
SECRET: dict[str, Any] = {"input": {"type": "password"}}  # Open WebUI 0.12 renders these as password fields (Valves.svelte)


class BundleValves(BaseModel):
    config_dir: str = Field(default="", description="Folder holding courses/<course>/course.toml (empty: $YOULAB_CONFIG_DIR, else ./config)")
    storage_root: str = Field(default="", description="Where student memory repos and the state database live (empty: <DATA_DIR>/youlab)")
    state_url: str = Field(default="", description="State database URL, e.g. postgresql+psycopg://... for several replicas (empty: SQLite under the storage root)")
    llm_model: str = Field(default="", description="Open WebUI model id the agents use to answer their questions (e.g. youlab-demo or gpt-4o-mini)")
    honcho_url: str = Field(default="", description="Honcho server URL (empty: Honcho off; agents read Open WebUI chat history instead)")
    honcho_api_key: str = Field(default="", description="Honcho API key", json_schema_extra=SECRET)
    honcho_workspace: str = Field(default="", description="Honcho workspace id (empty: youlab)")
    letta_url: str = Field(default="", description="Letta server URL (empty: Letta sync off)")
    letta_api_key: str = Field(default="", description="Letta API key", json_schema_extra=SECRET)
    inject_memory: bool = Field(default=True, description="Add the student's approved memory blocks to the system prompt of the course's tutor models")


_settings_cache: dict[tuple[tuple[str, Any], ...], Settings] = {}


def settings_from_values(values: dict[str, Any] | BaseModel | None) -> Settings:
    """Settings for these valve values. Cached: Open WebUI hands the plugin fresh Valves on every call, and
    building Settings (environment lookups, validation) on each message would cost more than the filter's work.
    The environment is read once per distinct set of valve values (restart to pick up changed YOULAB_* vars)."""
    raw = values.model_dump() if isinstance(values, BaseModel) else dict(values or {})
    overrides = {k: v for k, v in raw.items() if k in Settings.model_fields and v not in ("", None)}
    key = tuple(sorted((k, repr(v)) for k, v in overrides.items()))
    found = _settings_cache.get(key)
    if found is None:
        found = _settings_cache[key] = Settings.from_env(**overrides)
    return found


async def stored_filter_settings() -> Settings:
    """Settings from the filter's valves as stored in Open WebUI (for the Pipe and the Action)."""
    stored = await owui.function_valves(FILTER_ID)
    return settings_from_values(BundleValves(**{k: v for k, v in (stored or {}).items() if k in BundleValves.model_fields}))
