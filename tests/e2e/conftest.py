"""End-to-end fixtures: one real Open WebUI 0.12.4 per test session (see tests/support/openwebui_stack.py).

Every test in tests/e2e/ is marked `e2e`. The server starts on first use (about 15-120 s) and is shared by
the whole session; tests make their own students (`openwebui.make_student(name)`) so they do not collide.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.openwebui_stack import OpenWebUIHandle, running_openwebui
from youlab_core.launch import LaunchError


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="session")
def openwebui(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OpenWebUIHandle]:
    try:
        with running_openwebui(tmp_path_factory.mktemp("openwebui")) as handle:
            yield handle
    except LaunchError as exc:
        pytest.fail(f"Open WebUI did not start for the e2e tests:\n{exc}", pytrace=False)
