"""Fixtures for the bundle's plugin logic, without a server: the real state store (SQLite), real memory (git), a
copy of the shipped course config, and chats/folders in memory (the Open WebUI side is covered by tests/e2e)."""

from __future__ import annotations

import asyncio
import importlib.util
import shutil
from pathlib import Path
from types import ModuleType

import pytest

from youlab_core.bundle import Given, bundle_for, process, settings_from_values
from youlab_core.bundle.context import Bundle
from youlab_core.scheduler import BatchFailures
from youlab_core.threads import MemoryChats

REPO = Path(__file__).resolve().parents[2]


def load_plugin(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"plugin_{name}", REPO / "plugins" / f"{name}.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class RecordingRunner:
    """The scheduler's handler boundary: records the work it is given (the runner itself is tested in tests/runner)."""

    def __init__(self) -> None:
        self.works: list = []
        self.release = asyncio.Event()

    async def handler(self, work) -> BatchFailures:
        self.works.append(work)
        await self.release.wait()
        return BatchFailures()


@pytest.fixture
def config_dir(tmp_path: Path) -> Path:
    target = tmp_path / "config"
    shutil.copytree(REPO / "config" / "courses", target / "courses")
    return target


@pytest.fixture
async def bundle_env(tmp_path: Path, config_dir: Path):
    plugin = load_plugin("youlab_filter")
    flt = plugin.Filter()
    settings = settings_from_values(flt.Valves(config_dir=str(config_dir), storage_root=str(tmp_path / "youlab")))
    runner = RecordingRunner()
    bundle: Bundle = bundle_for(settings, backend=MemoryChats(), given=Given(handler=runner.handler))
    assert await bundle.start() is not None
    yield flt, bundle, runner
    runner.release.set()
    if bundle.parts is not None:
        await bundle.parts.activity.drain()
    state = bundle.state
    await process.deactivate(grace_seconds=1)
    if state is not None:
        state.close()
