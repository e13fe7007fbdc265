"""What the patch writes into Open WebUI's static folder: two asset files, and a block appended to loader.js that
loads them (block.py: appended, so a loader.js that Open WebUI or an admin ships keeps working; delimited, so it can
be recognised and removed exactly)."""

from __future__ import annotations

import hashlib
from importlib import resources

from .block import AppendedBlock

PATCH_ID = "youlab-readonly-threads"
LOADER = "loader.js"
SCRIPT = "youlab-readonly.js"
STYLESHEET = "youlab-readonly.css"
ASSETS = (SCRIPT, STYLESHEET)
# Every file the patch may write, in the order it writes them (assets before the loader that references them).
FILES = (*ASSETS, LOADER)

BLOCK = AppendedBlock(PATCH_ID, LOADER, b"/* ", b" */")
BLOCK_BEGIN = BLOCK.begin


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
    return BLOCK.wrap(
        b"(function () {\n"
        + b"\tvar script = document.createElement('script');\n"
        + f"\tscript.src = '/static/{SCRIPT}?v={assets_fingerprint()}';\n".encode()
        + b"\tscript.defer = true;\n"
        + b"\tdocument.head.appendChild(script);\n"
        + b"})();\n"
    )


has_block = BLOCK.present
strip_block = BLOCK.strip  # loader.js without the patch's block (the exact inverse of `chain_loader`)


def chain_loader(original: bytes) -> bytes:
    """The original loader.js, unchanged, followed by the block that loads the patch's script."""
    return original + loader_block()


def desired_files(original_loader: bytes) -> dict[str, bytes]:
    """File name -> the exact bytes an applied patch puts in the static folder."""
    files = {name: asset_bytes(name) for name in ASSETS}
    files[LOADER] = chain_loader(original_loader)
    return files
