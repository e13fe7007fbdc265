"""Pytest fixtures for the local service servers: the demo model (the OpenAI test server), Honcho and Letta.

Registered for the whole suite from tests/conftest.py. Each fixture starts a fresh, empty server on a free loopback
port and stops it after the test.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from youlab_core.demo_model import DemoModelServer


@pytest.fixture
def demo_model() -> Iterator[DemoModelServer]:
    with DemoModelServer("127.0.0.1", 0) as server:
        yield server


@pytest.fixture
def honcho_server():
    from tests.servers.honcho_server import HonchoTestServer

    with HonchoTestServer() as server:
        yield server


@pytest.fixture
def letta_server():
    from tests.servers.letta_server import LettaTestServer

    with LettaTestServer() as server:
        yield server
