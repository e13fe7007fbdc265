"""Which LLM provider Open WebUI gets: OpenAI-compatible, Ollama, or (with neither) the offline demo model."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

ProviderKind = Literal["openai", "ollama", "demo"]


@dataclass(frozen=True)
class Provider:
    kind: ProviderKind
    openai_urls: list[str] = field(default_factory=list)
    openai_keys: list[str] = field(default_factory=list)
    ollama_urls: list[str] = field(default_factory=list)

    @property
    def needs_demo_model(self) -> bool:
        return self.kind == "demo"


def _split(value: str | None) -> list[str]:
    return [part.strip() for part in (value or "").split(";") if part.strip()]


def provider_from_env(environ: Mapping[str, str]) -> Provider:
    """OPENAI_API_BASE_URL(S)/OPENAI_API_KEY(S) and OLLAMA_BASE_URL(S) as Open WebUI reads them; neither: demo."""
    openai_urls = _split(environ.get("OPENAI_API_BASE_URLS")) or _split(environ.get("OPENAI_API_BASE_URL"))
    openai_keys = _split(environ.get("OPENAI_API_KEYS")) or _split(environ.get("OPENAI_API_KEY"))
    ollama_urls = _split(environ.get("OLLAMA_BASE_URLS")) or _split(environ.get("OLLAMA_BASE_URL"))
    if openai_keys and not openai_urls:
        openai_urls = ["https://api.openai.com/v1"]  # a key alone means OpenAI itself, as in Open WebUI
    if openai_urls:
        keys = (openai_keys + [""] * len(openai_urls))[: len(openai_urls)]
        return Provider("openai", openai_urls, keys, ollama_urls)
    if ollama_urls:
        return Provider("ollama", ollama_urls=ollama_urls)
    return Provider("demo")


def demo_provider(base_url: str) -> Provider:
    """The demo model as Open WebUI's one OpenAI connection (its key is not checked)."""
    return Provider("demo", [base_url], ["youlab-demo"])
