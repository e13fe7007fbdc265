"""Settings shared by the CLI, the scheduler and the plugins.

Every limit is a setting with a default (no silent caps). Values come from keyword arguments (the plugins pass
their valves), then `YOULAB_*` environment variables, then the defaults below.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr


def _default_data_dir() -> Path:
    # Open WebUI's own DATA_DIR when we run inside it (or next to it), else ./.data like scripts/run.
    return Path(os.environ.get("YOULAB_DATA_DIR") or os.environ.get("DATA_DIR") or ".data")


class Settings(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    data_dir: Path = Field(default_factory=_default_data_dir, description="Open WebUI's DATA_DIR")
    storage_root: Path | None = Field(default=None, description="default <data_dir>/youlab")
    config_dir: Path = Field(default=Path("config"), description="holds courses/<course>/course.toml")
    state_url: str = Field(default="", description="SQLAlchemy URL; default sqlite:///<storage_root>/state.db")

    # Memory
    diff_expiry_days: int = Field(default=30, gt=0)
    memory_fsync: bool = Field(default=True, description="fsync git objects, index and ref before a change is acknowledged")
    upkeep_interval_seconds: float = Field(default=300.0, gt=0, description="how often students' repositories are checked for packing")
    upkeep_loose_objects: int = Field(default=128, gt=0, description="estimated loose objects that make a repository due for packing")
    upkeep_max_packs: int = Field(default=8, gt=1, description="packs that make the next packing combine them all into one")
    upkeep_repos_per_tick: int = Field(default=20, gt=0, description="most repositories one upkeep tick packs")

    # Triggers and scheduler
    misfire_grace_minutes: int = Field(default=10, ge=0)
    poll_interval_seconds: float = Field(default=10.0, gt=0)
    poll_jitter_seconds: float = Field(default=2.0, ge=0)
    claim_lease_seconds: int = Field(default=600, gt=0)
    run_max_attempts: int = Field(default=3, gt=0)
    retry_backoff_seconds: float = Field(default=60.0, ge=0)

    # Runner
    runner_concurrency: int = Field(default=8, gt=0)
    call_timeout_seconds: float = Field(default=60.0, gt=0)
    dialectic_timeout_seconds: float = Field(default=120.0, gt=0)
    call_retries: int = Field(default=3, ge=0)
    history_token_budget: int = Field(default=6000, gt=0)

    # LLM (outside Open WebUI: any OpenAI-compatible endpoint; inside: a model id the admin configured)
    llm_base_url: str = ""
    llm_api_key: SecretStr = SecretStr("")
    llm_model: str = ""

    # Open WebUI (for the CLI: reading chats and writing threads over REST)
    openwebui_url: str = ""
    openwebui_api_key: SecretStr = SecretStr("")

    # Honcho and Letta: off unless a URL is set
    honcho_url: str = ""
    honcho_api_key: SecretStr = SecretStr("")
    honcho_workspace: str = "youlab"
    letta_url: str = ""
    letta_api_key: SecretStr = SecretStr("")

    # Threads
    archive_old_threads: bool = True

    # State store and scheduler (issue 4: state engineer)
    scheduler_max_batches: int = Field(default=4, gt=0, description="batches one scheduler runs at once")
    scheduler_claim_limit: int = Field(default=1000, gt=0, description="most (task, student) pairs claimed per task per tick")
    scheduler_shutdown_grace_seconds: float = Field(default=10.0, ge=0)
    outbox_max_items: int = Field(default=10000, gt=0, description="queued Honcho messages kept; more are counted and dropped")
    outbox_max_attempts: int = Field(default=8, gt=0)

    # Open WebUI bundle (issue 6: bundle engineer)
    inject_memory: bool = Field(default=True, description="add the student's approved blocks to the course tutor's system prompt")
    config_check_seconds: float = Field(default=3.0, ge=0, description="how often course files are checked for changes")
    activity_queue_max: int = Field(default=10000, gt=0, description="student messages waiting to be counted; more are logged and not counted")
    review_note_max_chars: int = Field(default=2000, gt=0, description="longest note a student can add to an approval or rejection")

    # Runner, Honcho mirror, Letta sync (issue 5: runner engineer)
    call_backoff_seconds: float = Field(default=0.5, ge=0, description="first retry delay of a transient call failure (doubles)")
    call_backoff_max_seconds: float = Field(default=30.0, ge=0)
    honcho_batch_size: int = Field(default=100, gt=0, le=100, description="messages per Honcho request (Honcho's limit: 100)")
    mirror_poll_seconds: float = Field(default=1.0, gt=0, description="how often the Honcho mirror looks for queued messages")
    mirror_claim_limit: int = Field(default=1000, gt=0, description="queued messages one mirror round takes")
    mirror_lease_seconds: float = Field(default=120.0, gt=0)
    mirror_concurrency: int = Field(default=4, gt=0, description="chats sent to Honcho at once")
    mirror_backoff_seconds: float = Field(default=1.0, ge=0)
    mirror_backoff_max_seconds: float = Field(default=300.0, ge=0)
    letta_timeout_seconds: float = Field(default=15.0, gt=0)
    letta_retry_seconds: float = Field(default=60.0, gt=0, description="how often failed Letta block writes are retried")
    runner_write_processes: int = Field(default=0, ge=0, description="worker processes for the runner's memory writes (0: its threads)")

    @property
    def root(self) -> Path:
        return Path(self.storage_root) if self.storage_root else Path(self.data_dir) / "youlab"

    @property
    def users_root(self) -> Path:
        return self.root / "users"

    @property
    def database_url(self) -> str:
        return self.state_url or f"sqlite:///{(self.root / 'state.db').resolve()}"

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None, **overrides: Any) -> Settings:
        """Settings from `YOULAB_<NAME>` variables (e.g. YOULAB_STATE_URL), with explicit overrides on top."""
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for name in cls.model_fields:
            raw = env.get(f"YOULAB_{name.upper()}")
            if raw not in (None, ""):
                values[name] = raw
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)
