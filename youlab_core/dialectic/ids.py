"""Honcho ids for Open WebUI users and chats.

Honcho accepts ids matching `^[a-zA-Z0-9_-]+$`, at most 512 characters. Open WebUI ids are UUIDs (already safe), so
the common case is readable: `student_<user id>`, `chat_<chat id>`. Anything else is escaped and suffixed with a hash
of the raw id under a different prefix (`studentx_`, `chatx_`), so the two namespaces can never collide: a safe id's
prefix is always followed by `_` right after the word, an escaped one's by `x_`.
"""

from __future__ import annotations

import hashlib
import re

MAX_ID = 512
_SAFE = re.compile(r"^[A-Za-z0-9_-]+$")
_UNSAFE_CHAR = re.compile(r"[^A-Za-z0-9-]")
_HASH_CHARS = 32  # 128 bits of sha256: collisions are out of reach

TUTOR_PEER_ID = "tutor"  # the one peer every tutor reply is attributed to (as the earlier version did)


def honcho_id(prefix: str, raw: str) -> str:
    """`<prefix>_<raw>` when that is a valid Honcho id, else `<prefix>x_<escaped raw>_<hash>`."""
    if not raw:
        raise ValueError(f"empty id for Honcho {prefix!r}")
    candidate = f"{prefix}_{raw}"
    if _SAFE.match(raw) and len(candidate) <= MAX_ID:
        return candidate
    digest = hashlib.sha256(raw.encode("utf-8")).hexdigest()[:_HASH_CHARS]
    room = MAX_ID - len(prefix) - 3 - _HASH_CHARS  # "x_" + "_" around the escaped part
    escaped = _UNSAFE_CHAR.sub("_", raw)[:room]
    return f"{prefix}x_{escaped}_{digest}"


def honcho_peer_id(user_id: str) -> str:
    return honcho_id("student", user_id)


def honcho_session_id(chat_id: str) -> str:
    return honcho_id("chat", chat_id)
