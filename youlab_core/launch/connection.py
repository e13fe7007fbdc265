"""Keeps Open WebUI's LLM connection in line with the provider of this start.

Open WebUI reads OPENAI_API_BASE_URLS etc. only on its first start (they seed its config database). On later
starts the provider may differ (another demo model port, a key now set), so after the server is up we set the
connection over the admin API, unless an admin changed it in the admin panel since we last set it: then theirs
is kept. What we last set is remembered as a fingerprint in the data dir (no keys on disk).
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from ..openwebui import OpenWebUIClient
from .provider import Provider


def desired_openai(provider: Provider) -> dict[str, Any]:
    return {
        "ENABLE_OPENAI_API": bool(provider.openai_urls),
        "OPENAI_API_BASE_URLS": list(provider.openai_urls),
        "OPENAI_API_KEYS": list(provider.openai_keys),
    }


def desired_ollama(provider: Provider) -> dict[str, Any]:
    return {"ENABLE_OLLAMA_API": bool(provider.ollama_urls), "OLLAMA_BASE_URLS": list(provider.ollama_urls)}


def _fingerprint(part: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(part, sort_keys=True).encode()).hexdigest()


def _view(config: dict[str, Any], keys: list[str]) -> dict[str, Any]:
    view = {k: config.get(k) for k in keys}
    if "ENABLE_OPENAI_API" in view:
        view["ENABLE_OPENAI_API"] = bool(view["ENABLE_OPENAI_API"])
    if "ENABLE_OLLAMA_API" in view:
        view["ENABLE_OLLAMA_API"] = bool(view["ENABLE_OLLAMA_API"])
    return view


async def ensure_connection(client: OpenWebUIClient, provider: Provider, state: dict[str, Any]) -> list[str]:
    """Apply the provider's connection where we own it. Updates `state` (fingerprints); returns what it did."""
    notes: list[str] = []
    for name, desired, get, update, configs_key in (
        ("openai", desired_openai(provider), client.get_openai_config, client.update_openai_config,
         "OPENAI_API_CONFIGS"),
        ("ollama", desired_ollama(provider), client.get_ollama_config, client.update_ollama_config,
         "OLLAMA_API_CONFIGS"),
    ):
        current = await get()
        have = _view(current, list(desired))
        enable_key = next(iter(desired))
        if have == desired or (not desired[enable_key] and not have[enable_key]):
            # Equal, or both off (the URLs of a disabled connection do not matter).
            state[name] = _fingerprint(have)
            continue
        owned = state.get(name)
        if owned is not None and owned != _fingerprint(have):
            notes.append(f"keeping the {name} connection set in Open WebUI's admin panel")
            continue
        urls = desired.get("OPENAI_API_BASE_URLS", desired.get("OLLAMA_BASE_URLS", []))
        # Per-connection settings the admin made (prefix ids, tags...) stay with their index.
        await update({**desired, configs_key: current.get(configs_key) or {}})
        state[name] = _fingerprint(desired)
        notes.append(f"{name} connection set to {', '.join(urls) or 'off'}")
    return notes
