"""The schema of `config/courses/<course>/course.toml` (pydantic).

Structure and per-value rules live here. Rules that relate one part of the file to another (a query's target
must name an existing block and field, task names are unique) live in `validate.py`, so that they can run on a
file whose structure is partly broken and every problem is reported at once.
"""

from __future__ import annotations

import re
from datetime import datetime
from enum import Enum
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import croniter
from pydantic import BaseModel, ConfigDict, Field, StrictBool, field_validator, model_validator

SLUG = r"^[a-z0-9][a-z0-9_-]{0,62}$"
IDENT = r"^[A-Za-z_][A-Za-z0-9_]{0,62}$"


class Strict(BaseModel):
    """Unknown keys are errors: a misspelt key silently ignored is how the earlier version lost settings."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class FieldType(str, Enum):
    string = "string"
    int = "int"
    float = "float"
    bool = "bool"
    list = "list"
    datetime = "datetime"


class Scope(str, Enum):
    all = "all"
    recent = "recent"
    current = "current"
    specific = "specific"


class MergeStrategy(str, Enum):
    append = "append"
    # The course files' word; as a member of a str enum it shadows str.replace, which mypy reports for any str enum.
    replace = "replace"  # type: ignore[assignment]
    llm_diff = "llm_diff"


def _type_ok(ftype: FieldType, value: Any) -> bool:
    if ftype is FieldType.string:
        return isinstance(value, str)
    if ftype is FieldType.int:
        return isinstance(value, int) and not isinstance(value, bool)
    if ftype is FieldType.float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if ftype is FieldType.bool:
        return isinstance(value, bool)
    if ftype is FieldType.list:
        return isinstance(value, list) and all(isinstance(v, str) for v in value)
    return isinstance(value, datetime) or value == ""


_EMPTY: dict[FieldType, Any] = {
    FieldType.string: "",
    FieldType.int: 0,
    FieldType.float: 0.0,
    FieldType.bool: False,
    FieldType.list: [],
    FieldType.datetime: None,
}


class FieldSpec(Strict):
    """One field of a memory block: `field.X = {type, default, options, max, description, required}`.

    `max` is the most items a list keeps (the oldest are dropped on append), the longest a string may be, or the
    largest an int or float may be. `options`, when given, is the set of values the field may take.
    """

    type: FieldType = FieldType.string
    default: Any = None
    options: list[Any] | None = None
    max: int | float | None = None
    description: str = ""
    required: bool = False

    @model_validator(mode="after")
    def _check_default(self) -> FieldSpec:
        if self.type is FieldType.datetime and isinstance(self.default, str) and self.default:
            raise ValueError("a datetime default must be a TOML datetime (e.g. 2026-01-01T00:00:00Z), not a string")
        if self.default is not None and not _type_ok(self.type, self.default):
            raise ValueError(f"default {self.default!r} is not a {self.type.value}")
        if self.options is not None:
            if not self.options:
                raise ValueError("options, when given, must list at least one value")
            for option in self.options:
                if not _type_ok(self.type, option) or self.type is FieldType.list:
                    raise ValueError(f"option {option!r} is not a {self.type.value}")
            if self.default not in (None, "") and self.default not in self.options:
                raise ValueError(f"default {self.default!r} is not one of options {self.options!r}")
        if self.max is not None:
            if self.type in (FieldType.bool, FieldType.datetime):
                raise ValueError(f"max does not apply to a {self.type.value} field")
            if self.type in (FieldType.list, FieldType.string) and (not isinstance(self.max, int) or self.max <= 0):
                raise ValueError("max must be a positive whole number for a list or string field")
        return self

    def initial_value(self) -> Any:
        """The value a new block starts with."""
        if self.default is None:
            return list(_EMPTY[self.type]) if self.type is FieldType.list else _EMPTY[self.type]
        return list(self.default) if isinstance(self.default, list) else self.default


class BlockSpec(Strict):
    """A memory block: `[block.NAME]` with `label` (its Letta block label) and its fields."""

    label: str = ""
    title: str = ""
    description: str = ""
    shared: bool = False
    fields: dict[str, FieldSpec] = Field(default_factory=dict, alias="field")

    @field_validator("fields")
    @classmethod
    def _field_names(cls, value: dict[str, FieldSpec]) -> dict[str, FieldSpec]:
        if not value:
            raise ValueError("a block needs at least one field (field.NAME = {type = ...})")
        for name in value:
            if not re.match(IDENT, name):
                raise ValueError(f"field name {name!r} must be a letter or _ followed by letters, digits or _")
        return value


class QuerySpec(Strict):
    """One question a task asks about a student, and where the answer goes."""

    target: str = Field(pattern=r"^[^.\s]+\.[^.\s]+$", description="block.field")
    question: str = Field(min_length=1)
    scope: Scope = Scope.all
    recent_limit: int = Field(default=5, gt=0)
    sessions: list[str] = Field(default_factory=list)
    merge: MergeStrategy = MergeStrategy.append

    @model_validator(mode="after")
    def _sessions_for_specific(self) -> QuerySpec:
        if self.scope is Scope.specific and not self.sessions:
            raise ValueError("scope 'specific' needs `sessions`, the chat ids to read")
        if self.scope is not Scope.specific and self.sessions:
            raise ValueError("`sessions` is only read with scope 'specific'")
        return self

    @property
    def block(self) -> str:
        return self.target.split(".", 1)[0]

    @property
    def field(self) -> str:
        return self.target.split(".", 1)[1]


class TaskSpec(Strict):
    """A background agent: `[[task]]`. Its model in Open WebUI is `youlab_agents.<name>`."""

    name: str = Field(pattern=SLUG)
    display_name: str = ""
    description: str = ""
    schedule: str | None = None
    timezone: str = "UTC"
    misfire_grace_minutes: int | None = Field(default=None, ge=0)
    after_messages: int | None = Field(default=None, gt=0)
    on_idle: bool = False
    idle_threshold_minutes: int = Field(default=30, gt=0)
    idle_cooldown_minutes: int = Field(default=60, gt=0)
    manual: bool = True
    agent_types: list[str] = Field(default_factory=lambda: ["tutor"], min_length=1)
    user_filter: Literal["all"] | list[str] = "all"
    batch_size: int = Field(default=50, gt=0)
    system: str = ""
    queries: list[QuerySpec] = Field(min_length=1)

    @field_validator("schedule")
    @classmethod
    def _cron(cls, value: str | None) -> str | None:
        if value is not None and not croniter.is_valid(value):
            raise ValueError(f"{value!r} is not a cron expression croniter accepts (e.g. '0 9 * * 1')")
        return value

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown timezone {value!r} (use an IANA name such as 'America/New_York')") from None
        return value

    @field_validator("user_filter")
    @classmethod
    def _filter(cls, value: str | list[str]) -> str | list[str]:
        if isinstance(value, list) and (not value or any(not v.strip() for v in value)):
            raise ValueError("user_filter is 'all' or a non-empty list of user ids and 'group:<name>' entries")
        return value

    @model_validator(mode="after")
    def _has_trigger(self) -> TaskSpec:
        if not (self.schedule or self.after_messages or self.on_idle or self.manual):
            raise ValueError("the task has no trigger: set schedule, after_messages, on_idle = true or manual = true")
        return self

    @property
    def title(self) -> str:
        return self.display_name or self.name.replace("-", " ").replace("_", " ").title()

    @property
    def model_id(self) -> str:
        return f"youlab_agents.{self.name}"

    def user_ids(self) -> set[str] | None:
        """Explicit user ids of the filter, or None for 'all'."""
        if self.user_filter == "all":
            return None
        return {v for v in self.user_filter if not v.startswith("group:")}

    def group_names(self) -> set[str]:
        if self.user_filter == "all":
            return set()
        return {v.removeprefix("group:") for v in self.user_filter if v.startswith("group:")}


class AgentSpec(Strict):
    """`[agent]`: the course itself and the tutor model(s) students chat with."""

    id: str = Field(pattern=SLUG)
    name: str = Field(min_length=1)
    description: str = ""
    version: str = "1.0.0"
    models: list[str] = Field(min_length=1, description="Open WebUI model ids of the course's tutor")
    base_model: str = Field(default="", description="model the tutor wraps; empty: the installer's default")
    system: str = Field(default="", description="the tutor's system prompt")
    teachers: list[str] = Field(default_factory=list, description="Open WebUI group names of the course's teachers")
    # Off by default: a teacher sees counts and statuses of a student's memory, not its contents. Strict: a
    # privacy switch must be written true or false, not "yes".
    teachers_read_memory: StrictBool = False

    @field_validator("teachers")
    @classmethod
    def _teacher_groups(cls, value: list[str]) -> list[str]:
        for name in value:
            if not name.strip():
                raise ValueError("a teacher group name cannot be empty (use the Open WebUI group's name)")
            if name.startswith("group:"):
                raise ValueError(f"{name!r}: give the Open WebUI group's name itself, without 'group:'")
        duplicates = sorted({n for n in value if value.count(n) > 1})
        if duplicates:
            raise ValueError(f"teacher group {duplicates[0]!r} is listed more than once")
        return value


class Course(Strict):
    """A whole course file."""

    agent: AgentSpec
    blocks: dict[str, BlockSpec] = Field(alias="block", min_length=1)
    tasks: list[TaskSpec] = Field(default_factory=list, alias="task")

    @field_validator("blocks")
    @classmethod
    def _block_names(cls, value: dict[str, BlockSpec]) -> dict[str, BlockSpec]:
        for name in value:
            if not re.match(SLUG, name.lower()) or "." in name:
                raise ValueError(f"block name {name!r} must be letters, digits, '-' or '_'")
        return value

    @property
    def id(self) -> str:
        return self.agent.id

    def task(self, name: str) -> TaskSpec | None:
        return next((t for t in self.tasks if t.name == name), None)

    def field_spec(self, block: str, field: str) -> FieldSpec | None:
        spec = self.blocks.get(block)
        return spec.fields.get(field) if spec else None

    def covers_model(self, task: TaskSpec, model_id: str) -> bool:
        """Whether a chat with `model_id` counts as activity for `task` (see docs/configuration.md)."""
        if "tutor" in task.agent_types and model_id in self.agent.models:
            return True
        return model_id in task.agent_types
