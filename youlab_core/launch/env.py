"""The environment `open-webui serve` runs with, shared by scripts/run and the e2e harness (so they cannot drift).

Offline-friendly: no update checks, telemetry, model downloads or pip installs from plugin front matter; API keys
on (the installer and tests use them); the admin created from the given login on the first start; the LLM
connection from the provider. Open WebUI reads most of these only on its first start (they seed its config
database); `connection.py` keeps the LLM connection right on later starts.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from ..config import CourseRegistry
from .datadir import AdminLogin
from .provider import Provider

# Set unless the caller's environment already sets them (an operator's explicit choice wins).
OFFLINE_DEFAULTS: dict[str, str] = {
    "OFFLINE_MODE": "true",
    "HF_HUB_OFFLINE": "1",
    "ENABLE_VERSION_UPDATE_CHECK": "false",
    "ENABLE_PIP_INSTALL_FRONTMATTER_REQUIREMENTS": "false",
    "RAG_EMBEDDING_ENGINE": "openai",
    "ENABLE_API_KEYS": "true",
    "ENABLE_EVALUATION_ARENA_MODELS": "false",
    "ENABLE_COMMUNITY_SHARING": "false",
    "ANONYMIZED_TELEMETRY": "false",
    "DO_NOT_TRACK": "true",
    "SCARF_NO_ANALYTICS": "true",
    "GLOBAL_LOG_LEVEL": "INFO",
}

# Provider variables we replace with our own resolved values (the originals may be singular forms).
_PROVIDER_VARS = (
    "OPENAI_API_BASE_URL",
    "OPENAI_API_BASE_URLS",
    "OPENAI_API_KEY",
    "OPENAI_API_KEYS",
    "OLLAMA_BASE_URL",
    "OLLAMA_BASE_URLS",
    "ENABLE_OPENAI_API",
    "ENABLE_OLLAMA_API",
)


def openwebui_env(
    base: Mapping[str, str],
    *,
    data_dir: Path,
    secret_key: str,
    admin: AdminLogin,
    provider: Provider,
    config_dir: Path,
) -> dict[str, str]:
    """The full environment for `open-webui serve` (base: the caller's environment, usually os.environ)."""
    env = {k: v for k, v in base.items() if k not in _PROVIDER_VARS}
    for key, value in OFFLINE_DEFAULTS.items():
        env.setdefault(key, value)
    env.update(
        {
            "DATA_DIR": str(data_dir),
            # Open WebUI empties STATIC_DIR and refills it from the package at every start; its default is
            # inside the shared package, so two servers from one environment would race over one folder.
            "STATIC_DIR": str(data_dir / "static"),
            "WEBUI_SECRET_KEY": secret_key,
            "WEBUI_ADMIN_EMAIL": admin.email,
            "WEBUI_ADMIN_PASSWORD": admin.password,
            "WEBUI_ADMIN_NAME": admin.name,
            # YouLab's own settings inside Open WebUI (the plugins' valves say the same; see docs/operate.md).
            "YOULAB_DATA_DIR": str(data_dir),
            "YOULAB_STORAGE_ROOT": str(data_dir / "youlab"),
            "YOULAB_CONFIG_DIR": str(config_dir),
        }
    )
    env.update(provider_env(provider))
    tutors = tutor_models(config_dir)
    if tutors:
        # New chats start on a course tutor rather than on the raw provider model (read at first start only). One
        # tutor: Open WebUI sends a message to every default model at once, so a list would answer (and count) a
        # student's first message once per course.
        env.setdefault("DEFAULT_MODELS", tutors[0])
    return env


def tutor_models(config_dir: Path) -> list[str]:
    """The first tutor model of each valid course, in course-id order."""
    registry = CourseRegistry(config_dir)
    registry.reload()
    return [registry.courses[cid].agent.models[0] for cid in sorted(registry.courses)]


def provider_env(provider: Provider) -> dict[str, str]:
    env: dict[str, str] = {}
    if provider.openai_urls:
        env["ENABLE_OPENAI_API"] = "true"
        env["OPENAI_API_BASE_URLS"] = ";".join(provider.openai_urls)
        env["OPENAI_API_KEYS"] = ";".join(provider.openai_keys)
    else:
        env["ENABLE_OPENAI_API"] = "false"
    if provider.ollama_urls:
        env["ENABLE_OLLAMA_API"] = "true"
        env["OLLAMA_BASE_URLS"] = ";".join(provider.ollama_urls)
    else:
        env["ENABLE_OLLAMA_API"] = "false"
    return env


def redacted(env: Mapping[str, str]) -> dict[str, str]:
    """The environment with secret values masked, for logs."""
    secret_words = ("KEY", "SECRET", "PASSWORD", "TOKEN")
    return {k: ("***" if any(w in k.upper() for w in secret_words) and v else v) for k, v in env.items()}
