"""`youlab runs --decisions`: per course and task, what became of the changes it proposed (every student's
memory), as a table and as JSON lines."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from youlab_core.cli import main
from youlab_core.cli.runs_cmd import approval_rate_text
from youlab_core.memory import MemoryStore
from tests.dialectic.fakes import course


def propose(memory, value: str, agent: str = "grader"):
    return memory.propose(course(), agent=agent, run_id="r", block="journey", field="notes", operation="replace",
                          proposed_value=value, reasoning="", confidence="medium", source_query="Q?")


@pytest.fixture
def root(tmp_path: Path) -> Path:
    store = MemoryStore(tmp_path / "root" / "users")
    for user in ("u1", "u2", "u3"):
        memory = store.student(user)
        memory.approve(propose(memory, f"{user} a").id, reviewer=f"student:{user}", course=course())
        memory.reject(propose(memory, f"{user} b").id, reviewer=f"student:{user}")
    undone = store.student("u1").get_diff(store.student("u1").list_diffs("approved")[0].id)
    store.student("u1").undo(undone.id, reviewer="student:u1", course=course())
    propose(store.student("u2"), "still waiting")
    store.student("u3").reject(propose(store.student("u3"), "other", agent="weekly").id, reviewer="student:u3")
    return tmp_path / "root"


def test_json_counts_per_course_and_task(root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["runs", "--decisions", "--json", "--storage-root", str(root)]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [(line["course"], line["task"]) for line in lines] == [("essay", "grader"), ("essay", "weekly")]
    grader = lines[0]
    assert {k: grader[k] for k in ("proposed", "pending", "approved", "rejected", "undone", "expired")} == {
        "proposed": 7, "pending": 1, "approved": 2, "rejected": 3, "undone": 1, "expired": 0}
    assert grader["approval_rate"] == pytest.approx(2 / 6)
    assert lines[1]["approval_rate"] == 0.0 and lines[1]["proposed"] == 1


def test_table_with_filters(root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["runs", "--decisions", "--task", "grader", "--storage-root", str(root)]) == 0
    out = capsys.readouterr()
    header, row = out.out.splitlines()
    assert header.split()[:4] == ["COURSE", "TASK", "PROPOSED", "PENDING"] and header.endswith("APPROVAL RATE")
    assert row.split() == ["essay", "grader", "7", "1", "2", "3", "1", "0", "0", "0", "33%"]
    assert "approval rate = approved / (approved + rejected + undone)" in out.err
    assert main(["runs", "--decisions", "--course", "nowhere", "--storage-root", str(root)]) == 0
    assert capsys.readouterr().err.startswith("no proposed changes under ")


def test_approval_rate_text() -> None:
    assert approval_rate_text(None) == "-" and approval_rate_text(0.5) == "50%" and approval_rate_text(1.0) == "100%"
