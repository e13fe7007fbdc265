from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pytest

from youlab_core.state import open_store
from youlab_core.threads import Change, Finding, MemoryChats, ThreadReport, ThreadWriter


@pytest.fixture
def state(tmp_path: Path):
    store = open_store(url=f"sqlite:///{tmp_path / 'state.db'}")
    yield store
    store.close()


@pytest.fixture
def chats() -> MemoryChats:
    return MemoryChats()


@pytest.fixture
def writer(chats: MemoryChats, state) -> ThreadWriter:
    return ThreadWriter(chats, state, now=lambda: datetime(2026, 11, 24, 15, 30, tzinfo=timezone.utc))


def make_report(run_id: str = "run-1", *, changes: int = 2) -> ThreadReport:
    return ThreadReport(
        task="progression-grader",
        agent="Progression Grader",
        course="college-essay",
        run_id=run_id,
        created_at="2026-11-24T15:30:00+00:00",
        findings=[
            Finding("How far has the student progressed?", "journey.grader_notes", "They drafted an opening about their grandmother."),
            Finding("What is blocking the student?", "journey.blockers", "", error="the dialectic timed out"),
        ],
        changes=[
            Change(f"diff-{run_id}-{i}", "journey.grader_notes", "old notes", f"new notes {i}", merge="replace")
            for i in range(changes)
        ],
    )
