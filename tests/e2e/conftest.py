"""End-to-end fixtures: one real Open WebUI 0.12.4 per test session (see tests/support/openwebui_stack.py).

Every test in tests/e2e/ is marked `e2e`. The server starts on first use (about 15-120 s) and is shared by
the whole session; tests make their own students (`openwebui.make_student(name)`) so they do not collide.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.openwebui_stack import OpenWebUIHandle, running_openwebui
from youlab_core.launch import LaunchError
from youlab_core.settings import Settings


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


@pytest.fixture(scope="module")
def quick(openwebui: OpenWebUIHandle) -> OpenWebUIHandle:
    """The session's Open WebUI with the e2e-quick course (short thresholds) dropped in and installed, as an admin
    would add a course."""
    target = openwebui.config_dir / "courses" / "e2e-quick"
    if not target.exists():
        shutil.copytree(Path(__file__).parent / "courses" / "e2e-quick", target)
    time.sleep(Settings().config_check_seconds + 1)  # Open WebUI's workers notice the new course file
    openwebui.install()  # creates the e2e tutor model and the new agents' records, as an admin would
    openwebui.api.models.available(refresh=True)  # Open WebUI caches its model list until a refresh
    return openwebui
