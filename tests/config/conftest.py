from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ROOT / "config/courses/college-essay/course.toml"


@pytest.fixture
def shipped_text() -> str:
    return SHIPPED.read_text()


MINIMAL = """
[agent]
id = "demo"
name = "Demo"
models = ["demo-tutor"]

[block.student]
field.notes = { type = "string" }
field.tags = { type = "list", max = 3 }

[[task]]
name = "t1"
manual = true
queries = [ { target = "student.notes", question = "What?" } ]
"""


@pytest.fixture
def minimal() -> str:
    return MINIMAL
