"""Student memory: one git repository per student, typed blocks, and the pending-diff lifecycle.

See docs/memory.md for the repository layout, the block file format, the lifecycle and the safety guarantees.
"""

from ..errors import InvalidUserId, NotFound, ProposalRefused, StaleDiff
from .blockfile import BlockFileError
from .blocks import Block, BlockInfo, HistoryEntry
from .diffs import ApprovalListener, Confidence, DiffClosed, DiffStatus, PendingDiff
from .ids import validate_user_id
from .lifecycle import UNSET, Proposal
from .store import CourseLookup, MemoryStore
from .student import StudentMemory
from .values import InvalidFieldValue

__all__ = [
    "UNSET",
    "ApprovalListener",
    "Block",
    "BlockFileError",
    "BlockInfo",
    "Confidence",
    "CourseLookup",
    "DiffClosed",
    "DiffStatus",
    "HistoryEntry",
    "InvalidFieldValue",
    "InvalidUserId",
    "MemoryStore",
    "NotFound",
    "PendingDiff",
    "Proposal",
    "ProposalRefused",
    "StaleDiff",
    "StudentMemory",
    "validate_user_id",
]
