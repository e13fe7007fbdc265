"""Pending diffs: one proposed change of one field, its lifecycle, and its JSON file.

Lifecycle: pending -> approved | rejected | superseded | expired | stale, and approved -> undone (the student undid
the change later: `StudentMemory.undo`). Only a pending diff can be decided, and only an approved one undone; every
move is committed with the rest of the change it belongs to, so the repository's history is the audit trail.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, replace
from datetime import datetime
from enum import Enum
from typing import Any, Protocol

from ..config import Course, FieldType, MergeStrategy
from ..errors import UserFacingError
from .values import from_json_value, to_json_value

DIFFS_DIR = "pending_diffs"
ARCHIVE_DIR = f"{DIFFS_DIR}/archive"
PENDING_INDEX = "pending_index.json"  # ids of the diffs still pending, so approvals never scan decided diffs


class DiffStatus(str, Enum):
    pending = "pending"
    approved = "approved"
    rejected = "rejected"
    superseded = "superseded"
    expired = "expired"
    stale = "stale"
    undone = "undone"  # approved, then undone by the student: counts as rejected from then on


class Confidence(str, Enum):
    low = "low"
    medium = "medium"
    high = "high"


class DiffClosed(UserFacingError):
    """An approve or reject of a diff that was already decided (the message says how and when)."""


@dataclass(frozen=True)
class PendingDiff:
    id: str
    user_id: str
    course: str
    agent: str
    run_id: str
    block: str
    field: str
    field_type: FieldType
    operation: MergeStrategy
    current_value: Any
    proposed_value: Any
    reasoning: str
    confidence: Confidence
    source_query: str
    base_commit: str
    status: DiffStatus
    created_at: datetime
    reviewed_at: datetime | None = None
    reviewed_by: str = ""
    applied_commit: str = ""
    review_note: str = ""
    note: str = ""  # from the merge strategy, e.g. which list items were dropped to stay within max
    # Set when an approved change is undone (reviewed_* keep the approval): when, by whom, the student's note.
    undone_at: datetime | None = None
    undone_by: str = ""
    undo_note: str = ""

    @property
    def target(self) -> str:
        return f"{self.block}.{self.field}"

    def decided(self, status: DiffStatus, *, at: datetime, by: str, note: str = "", commit: str = "") -> PendingDiff:
        return replace(self, status=status, reviewed_at=at, reviewed_by=by, review_note=note, applied_commit=commit)

    @property
    def decided_at(self) -> datetime | None:
        """When the diff got its current status (the undo's time for an undone diff)."""
        return self.undone_at or self.reviewed_at

    @property
    def decision_note(self) -> str:
        """The student's note on the current status (the undo's note for an undone diff)."""
        return self.undo_note if self.status is DiffStatus.undone else self.review_note

    def to_json(self) -> str:
        return json.dumps(self._data(), ensure_ascii=False, indent=2) + "\n"

    def to_json_line(self) -> str:
        return json.dumps(self._data(), ensure_ascii=False) + "\n"

    def _data(self) -> dict[str, Any]:
        data = asdict(self)
        data.update(
            field_type=self.field_type.value,
            operation=self.operation.value,
            confidence=self.confidence.value,
            status=self.status.value,
            current_value=to_json_value(self.field_type, self.current_value),
            proposed_value=to_json_value(self.field_type, self.proposed_value),
            created_at=self.created_at.isoformat(),
            reviewed_at=self.reviewed_at.isoformat() if self.reviewed_at else None,
            undone_at=self.undone_at.isoformat() if self.undone_at else None,
        )
        if self.undone_at is None:  # only undone diffs carry the undo fields: other files stay as they were
            for key in ("undone_at", "undone_by", "undo_note"):
                data.pop(key)
        return data

    @classmethod
    def from_json(cls, text: str) -> PendingDiff:
        return cls.from_data(json.loads(text))

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> PendingDiff:
        data = dict(data)
        ftype = FieldType(data["field_type"])
        data.update(
            field_type=ftype,
            operation=MergeStrategy(data["operation"]),
            confidence=Confidence(data["confidence"]),
            status=DiffStatus(data["status"]),
            current_value=from_json_value(ftype, data["current_value"]),
            proposed_value=from_json_value(ftype, data["proposed_value"]),
            created_at=datetime.fromisoformat(data["created_at"]),
            reviewed_at=datetime.fromisoformat(data["reviewed_at"]) if data.get("reviewed_at") else None,
            undone_at=datetime.fromisoformat(data["undone_at"]) if data.get("undone_at") else None,
        )
        return cls(**data)

    def path(self) -> str:
        return diff_path(self.id)


def diff_path(diff_id: str) -> str:
    return f"{DIFFS_DIR}/{diff_id}.json"


ARCHIVE_CHUNK = 50  # decided diffs per archive file: bounds what one decision rewrites, however busy the day


def archive_path(diff_id: str, chunk: int = 0) -> str:
    """Decided diffs leave `pending_diffs/` for JSON-lines files named after the day they were proposed (the id
    starts with that day): `archive/2026-11-24.jsonl`, then `archive/2026-11-24.1.jsonl`, ... of ARCHIVE_CHUNK lines
    each. One file per diff kept forever would make every commit's index and trees grow with history."""
    day = f"{diff_id[0:4]}-{diff_id[4:6]}-{diff_id[6:8]}"
    return f"{ARCHIVE_DIR}/{day}.jsonl" if chunk == 0 else f"{ARCHIVE_DIR}/{day}.{chunk}.jsonl"


def parse_archive(text: str | None) -> list[PendingDiff]:
    return [PendingDiff.from_json(line) for line in (text or "").split("\n") if line.strip()]


def find_in_archive(text: str | None, diff_id: str) -> PendingDiff | None:
    needle = f'"id": "{diff_id}"'
    for line in (text or "").split("\n"):
        if needle in line:
            diff = PendingDiff.from_json(line)
            if diff.id == diff_id:
                return diff
    return None


def index_entry(diff: PendingDiff) -> dict[str, str]:
    """What the pending index keeps per diff: enough to filter, count, expire and supersede without opening it."""
    return {
        "course": diff.course,
        "agent": diff.agent,
        "block": diff.block,
        "field": diff.field,
        "created_at": diff.created_at.isoformat(),
    }


def parse_index(text: str | None) -> dict[str, dict[str, str]]:
    return json.loads(text) if text else {}


def render_index(index: dict[str, dict[str, str]]) -> str:
    return json.dumps(dict(sorted(index.items())), indent=1) + "\n"


class ApprovalListener(Protocol):
    """Told about each approval after it is committed (the Letta sync plugs in here). Exceptions are logged and
    never undo or block the approval."""

    def on_approved(self, user_id: str, course: Course, diff: PendingDiff) -> None: ...


def closed_reason(diff: PendingDiff) -> str:
    """Why a decided diff cannot be approved or rejected, in words a student understands."""
    when = f" on {diff.reviewed_at:%b %d, %Y at %H:%M} UTC" if diff.reviewed_at else ""
    by = f" by {diff.reviewed_by}" if diff.reviewed_by else ""
    when_undone = f" on {diff.undone_at:%b %d, %Y at %H:%M} UTC" if diff.undone_at else ""
    by_undo = f" by {diff.undone_by}" if diff.undone_by else ""
    what = {
        DiffStatus.approved: f"was already approved{by}{when}",
        DiffStatus.rejected: f"was already rejected{by}{when}",
        DiffStatus.superseded: f"was replaced{when}: another change to {diff.target} was approved first",
        DiffStatus.expired: f"expired{when}: it waited for a decision too long",
        DiffStatus.stale: f"is out of date: {diff.target} changed after the agent proposed it",
        DiffStatus.undone: f"was approved and then undone{by_undo}{when_undone}",
    }[diff.status]
    return f"This proposed change to {diff.target} {what}."
