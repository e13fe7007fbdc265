"""Starting Open WebUI with the YouLab bundle: scripts/run (`python -m youlab_core.launch`) and the e2e harness
share these pieces, so both run Open WebUI the same way."""

from .datadir import AdminLogin, DataDir
from .env import OFFLINE_DEFAULTS, openwebui_env, provider_env, redacted
from .processes import LaunchError, ManagedProcess, free_port, log_tail, port_is_free, wait_until_healthy
from .provider import Provider, demo_provider, provider_from_env
from .stack import Prepared, apply_patch, default_valves, prepare, start_openwebui

__all__ = [
    "OFFLINE_DEFAULTS",
    "AdminLogin",
    "DataDir",
    "LaunchError",
    "ManagedProcess",
    "Prepared",
    "Provider",
    "apply_patch",
    "default_valves",
    "demo_provider",
    "free_port",
    "log_tail",
    "openwebui_env",
    "port_is_free",
    "prepare",
    "provider_env",
    "provider_from_env",
    "redacted",
    "start_openwebui",
    "wait_until_healthy",
]
