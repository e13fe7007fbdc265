"""Validation of the names that become paths inside the storage root: user ids, diff ids, block and field names.

Every id that reaches the filesystem passes through here, so no id can name a path outside the root.
"""

from __future__ import annotations

import re
import secrets
from datetime import datetime, timezone

from ..errors import InvalidUserId, NotFound

# Open WebUI user ids are UUIDs; e-mail-like and slug ids are allowed too. A leading '.' is refused so that an id can
# never be '.', '..', or a hidden name (the store keeps its own temporary directories under dot-names).
_USER_ID = re.compile(r"[A-Za-z0-9_@+-][A-Za-z0-9._@+-]{0,127}")
_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_-]{0,63}")
_DIFF_ID = re.compile(r"[0-9]{8}T[0-9]{6}Z-[0-9a-f]{12}")


def validate_user_id(user_id: object) -> str:
    """Return `user_id` if it is safe as one path component, else raise InvalidUserId saying why."""
    if not isinstance(user_id, str):
        raise InvalidUserId(f"a student id must be text, not {type(user_id).__name__}")
    shown = user_id if len(user_id) <= 80 else user_id[:80] + "..."
    if not user_id:
        raise InvalidUserId("a student id must not be empty")
    if ".." in user_id:
        raise InvalidUserId(f"student id {shown!r} must not contain '..'")
    if "/" in user_id or "\\" in user_id:
        raise InvalidUserId(f"student id {shown!r} must not contain a slash")
    if len(user_id) > 128:
        raise InvalidUserId(f"student id {shown!r} is longer than 128 characters")
    if not _USER_ID.fullmatch(user_id):
        raise InvalidUserId(
            f"student id {shown!r} may only use letters, digits and . _ @ + - (and must not start with '.')"
        )
    return user_id


def validate_name(kind: str, name: object) -> str:
    """A course, block or field name used as a path component (config already validates them; this is defence)."""
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise NotFound(f"{kind} name {name!r} is not a valid name (letters, digits, '_' and '-')")
    return name


def new_diff_id(now: datetime | None = None) -> str:
    """A diff id that sorts by creation time: `20261124T004023Z-<12 hex>`."""
    moment = (now or datetime.now(timezone.utc)).astimezone(timezone.utc)
    return f"{moment:%Y%m%dT%H%M%SZ}-{secrets.token_hex(6)}"


def validate_diff_id(diff_id: object) -> str:
    if not isinstance(diff_id, str) or not _DIFF_ID.fullmatch(diff_id):
        raise NotFound(f"{diff_id!r} is not a pending-diff id (expected e.g. 20261124T004023Z-0123456789ab)")
    return diff_id
