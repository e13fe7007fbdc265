"""What the patch writes into Open WebUI's static folder: two asset files, and a block appended to loader.js that
loads them. The block is appended (not a replacement) so a loader.js that Open WebUI or an admin ships keeps
working; the block is delimited so it can be recognised, and removed exactly."""

from __future__ import annotations

import hashlib
from importlib import resources

PATCH_ID = "youlab-readonly-threads"
LOADER = "loader.js"
SCRIPT = "youlab-readonly.js"
STYLESHEET = "youlab-readonly.css"
ASSETS = (SCRIPT, STYLESHEET)
# Every file the patch may write, in the order it writes them (assets before the loader that references them).
FILES = (*ASSETS, LOADER)

BLOCK_BEGIN = b"\n/* " + PATCH_ID.encode() + b": begin"
BLOCK_END = b"/* " + PATCH_ID.encode() + b": end */\n"


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def asset_bytes(name: str) -> bytes:
    return resources.files(__package__).joinpath(name).read_bytes()


def assets_fingerprint() -> str:
    """Short hash of the assets, used as a cache-busting query so browsers pick up a new version at once."""
    digest = hashlib.sha256()
    for name in ASSETS:
        digest.update(asset_bytes(name))
    return digest.hexdigest()[:12]


def loader_block() -> bytes:
    return (
        BLOCK_BEGIN
        + b" (added by `youlab patch apply`; `youlab patch revert` removes it) */\n"
        + b"(function () {\n"
        + b"\tvar script = document.createElement('script');\n"
        + f"\tscript.src = '/static/{SCRIPT}?v={assets_fingerprint()}';\n".encode()
        + b"\tscript.defer = true;\n"
        + b"\tdocument.head.appendChild(script);\n"
        + b"})();\n"
        + BLOCK_END
    )


def has_block(loader: bytes) -> bool:
    return BLOCK_BEGIN in loader


def strip_block(loader: bytes) -> bytes:
    """loader.js without the patch's block (the exact inverse of `chain_loader`)."""
    start = loader.find(BLOCK_BEGIN)
    if start < 0:
        return loader
    end = loader.find(BLOCK_END, start)
    if end < 0:
        raise ValueError("loader.js has the start of YouLab's block but not its end")
    return loader[:start] + loader[end + len(BLOCK_END) :]


def chain_loader(original: bytes) -> bytes:
    """The original loader.js, unchanged, followed by the block that loads the patch's script."""
    return original + loader_block()


def desired_files(original_loader: bytes) -> dict[str, bytes]:
    """File name -> the exact bytes an applied patch puts in the static folder."""
    files = {name: asset_bytes(name) for name in ASSETS}
    files[LOADER] = chain_loader(original_loader)
    return files
