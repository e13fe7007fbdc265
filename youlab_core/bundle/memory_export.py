"""A student's data download: everything YouLab keeps about them, in one zip of JSON and Markdown files.

The format is documented in docs/memory-view.md and in the README.md inside the zip. Nothing in it needs YouLab to
read: block files are Markdown, everything else is JSON (one object per line for the decisions). The zip is
stored as an Open WebUI file owned by the student (`FILES`; tests replace it), so only they (and admins) can open
its link.
"""

from __future__ import annotations

import asyncio
import io
import json
import zipfile
from dataclasses import asdict
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Protocol

from ..memory.repo import BRANCH
from ..openwebui import internals as owui
from ..threads.report import plain_problem

if TYPE_CHECKING:
    from .context import Bundle

FORMAT_VERSION = 1
README = """# Your YouLab data

Everything YouLab keeps about you, exported {when}. Format version {version}.

- `memory/<course>/<block>.md`: each memory block as stored (one `## field` section per field).
- `memory/<course>/blocks.json`: the same values as JSON, with each block's title and each field's description.
- `history.json`: every change ever made to your memory, oldest first: `id`, `at`, `author` (`student:<you>` is
  you, `agent:<task>` an agent), `committer` (who approved it), `message`, `files`.
- `decisions.jsonl`: every change an agent proposed, one JSON object a line: what it proposed (`current_value`,
  `proposed_value`), why (`source_query`, `reasoning`), its `status` (pending, approved, rejected, superseded,
  expired, stale, undone), who decided and when, and your notes (`review_note`, `undo_note`).
- `runs.json`: every agent run for you: task, course, trigger, times, status, changes proposed, and a plain
  sentence when it failed.
- `threads.json`: the chats YouLab wrote for you (agent reports and your memory views).
"""


class FileStore(Protocol):
    async def save(self, user_id: str, name: str, data: bytes) -> str: ...


class OpenWebUIFiles:
    async def save(self, user_id: str, name: str, data: bytes) -> str:
        return await owui.save_user_file(user_id, name, data, "application/zip")


FILES: FileStore = OpenWebUIFiles()


def file_name(user_id: str, now: datetime | None = None) -> str:
    when = now or datetime.now(timezone.utc)
    return f"youlab-data-{when:%Y-%m-%d}.zip"


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, indent=1, default=str, sort_keys=True) + "\n"


def _history(memory: Any) -> list[dict[str, Any]]:
    if not memory.repo.exists():
        return []
    with memory.repo.locked(exclusive=False):
        repo = memory.repo.open_git()
        try:
            return [{"id": c.hexsha, "at": c.authored_datetime.astimezone(timezone.utc).isoformat(),
                     "author": c.author.name, "committer": c.committer.name, "message": c.message.strip(),
                     "files": sorted(c.stats.files)} for c in reversed(list(repo.iter_commits(BRANCH)))]
        finally:
            repo.close()


def _memory_files(bundle: Bundle, memory: Any) -> dict[str, str]:
    files: dict[str, str] = {}
    for course in bundle.courses.courses.values():
        blocks = {}
        for name, spec in course.blocks.items():
            block = memory.read_block(course, name)
            text = memory._text_at(course, name, None) if memory.repo.exists() else ""
            if text:
                files[f"memory/{course.id}/{name}.md"] = text
            blocks[name] = {"title": spec.title or name, "description": spec.description, "fields": {
                f: {"description": fs.description, "type": fs.type.value, "value": block.values.get(f)}
                for f, fs in spec.fields.items()}}
        files[f"memory/{course.id}/blocks.json"] = _json(blocks)
    return files


def _gather(bundle: Bundle, user_id: str) -> dict[str, str]:
    """Blocking: every file of the zip."""
    memory = bundle.memory.student(user_id)
    files = {"README.md": README.format(when=datetime.now(timezone.utc).isoformat(timespec="seconds"),
                                        version=FORMAT_VERSION)}
    files.update(_memory_files(bundle, memory))
    files["history.json"] = _json(_history(memory))
    diffs = memory.list_diffs() if memory.repo.exists() else []
    files["decisions.jsonl"] = "".join(d.to_json_line() for d in reversed(diffs))
    state = bundle.state
    runs = state.list_runs(user_id=user_id, limit=100_000) if state is not None else []
    files["runs.json"] = _json([{"id": r.id, "task": r.task, "course": r.course_id, "trigger": r.trigger,
                                 "claimed_at": r.claimed_at, "started_at": r.started_at, "finished_at": r.finished_at,
                                 "status": r.status, "changes_proposed": r.diffs_proposed,
                                 "thread": r.thread_chat_id, "problem": plain_problem(r.error) if r.error else ""}
                                for r in runs])
    threads = state.threads_for(user_id) if state is not None else []
    files["threads.json"] = _json([asdict(t) for t in threads])
    return files


async def build(bundle: Bundle, user_id: str) -> bytes:
    files = await asyncio.to_thread(_gather, bundle, user_id)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in sorted(files.items()):
            archive.writestr(name, text)
    return out.getvalue()
