"""Talking to Open WebUI 0.12 over its REST API (used by the installer, scripts/run, the CLI and the e2e tests).

Code running inside Open WebUI reaches its Python internals through `internals`, the only module importing them."""

from .client import FORBIDDEN_PATHS, OpenWebUIClient
from .errors import OpenWebUIError
from .sync import SyncOpenWebUIClient

__all__ = ["FORBIDDEN_PATHS", "OpenWebUIClient", "OpenWebUIError", "SyncOpenWebUIClient"]
