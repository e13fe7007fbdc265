"""The loader.js block: appended to any original and removed exactly."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from openwebui_patches import assets


@given(st.binary(max_size=400))
def test_strip_block_inverts_chain_loader(original: bytes) -> None:
    chained = assets.chain_loader(original)
    assert chained.startswith(original)
    assert assets.has_block(chained)
    assert assets.strip_block(chained) == original


def test_block_names_the_versioned_script() -> None:
    block = assets.loader_block().decode()
    assert f"/static/{assets.SCRIPT}?v={assets.assets_fingerprint()}" in block
    assert block.startswith("\n/* youlab-readonly-threads: begin")


def test_assets_ship_with_the_package() -> None:
    script = assets.asset_bytes(assets.SCRIPT).decode()
    # The page decides "agent thread" with the same markers the server-side guard and the thread writer use.
    for marker in ("youlab_agents.", "background_agent", "/api/v1/chats/", "/api/v1/folders/", "message-input-container"):
        assert marker in script
    assert b"youlab-readonly-thread" in assets.asset_bytes(assets.STYLESHEET)
