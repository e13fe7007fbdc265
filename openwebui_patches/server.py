"""The server part of the patch: a block appended to the installed `open_webui/main.py` that makes Open WebUI call
YouLab's write guard (`youlab_core.bundle.write_guard.install_write_guard(app)`) when it builds its app.

Why main.py: the guard is an ASGI middleware that must wrap every route from the first request, in every worker
process. Each worker imports `open_webui.main`, which creates `app = FastAPI(...)` and adds its routes at import
time; a block at the very end of that module runs after all of that and before the server starts (Starlette
accepts middleware until then). A block added while a server runs takes effect at its next start.

The block is appended, delimited, and recorded like the front-end files (manifest.py): apply is idempotent, revert
restores main.py byte for byte, and a main.py changed by someone else is not overwritten without `force`. If YouLab
is uninstalled without a revert, the block only logs an error: Open WebUI keeps starting.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from . import running
from .assets import sha256
from .block import AppendedBlock
from .common import (
    SUPPORTED_VERSIONS,
    PatchConflict,
    PatchState,
    UnsupportedOpenWebUI,
    check_version,
    classify,
    digest,
    locked,
    resolve_package,
    restore,
    writable,
)
from .locate import OpenWebUINotFound, package_version
from .manifest import FileRecord, Manifest, PatchStore, write_atomic

PATCH_ID = "youlab-write-guard"
PART = "server"  # the subfolder of .youlab-patch/ holding this part's manifest and backup
TARGET = "main.py"
GUARD_MODULE = "youlab_core.bundle.write_guard"

BLOCK = AppendedBlock(PATCH_ID, TARGET, b"# ")
BLOCK_BEGIN, BLOCK_END = BLOCK.begin, BLOCK.end
# What main.py must define at module level for the block to work (Open WebUI 0.12.4 does).
REQUIRED = (b"\nlog = logging.getLogger(", b"\napp = FastAPI(")


def guard_block() -> bytes:
    return BLOCK.wrap(
        b"try:\n"
        + f"    from {GUARD_MODULE} import install_write_guard as _youlab_install_write_guard\n".encode()
        + b"except ImportError as _youlab_exc:  # YouLab uninstalled without `youlab patch revert`\n"
        + b'    log.error("YouLab\'s write guard is not loaded (%s): agent threads are not protected", _youlab_exc)\n'
        + b"else:\n"
        + b"    _youlab_install_write_guard(app)\n"
    )


has_block = BLOCK.present
strip_block = BLOCK.strip  # main.py without the guard block (the exact inverse of `patched`)


def patched(original: bytes) -> bytes:
    """The original main.py, unchanged, followed by the guard block."""
    return original + guard_block()


@dataclass
class ServerPatchStatus:
    state: PatchState
    package_dir: Path
    main_py: Path
    version: str
    supported: bool
    stale_servers: list[int] = field(default_factory=list)  # running servers that predate main.py's last change
    changed: bool = False  # this apply or revert rewrote main.py
    details: list[str] = field(default_factory=list)

    def describe(self) -> str:
        part = f"server write guard ({PATCH_ID})"
        lines = [f"{part}: {self.state.value} in {self.main_py} (Open WebUI {self.version})"]
        if not self.supported:
            lines.append(f"  Open WebUI {self.version} is not supported (supported: {', '.join(SUPPORTED_VERSIONS)})")
        lines.extend(f"  {detail}" for detail in self.details)
        if self.changed and not self.stale_servers:
            lines.append(f"  {TARGET} changed: a running Open WebUI keeps its code from before until it restarts")
        return "\n".join(lines)


def _main_py(package: Path) -> Path:
    main = package / TARGET
    if not main.is_file():
        raise OpenWebUINotFound(f"{package} is not an Open WebUI package: {main} is missing")
    return main


def _store(package: Path) -> PatchStore:
    return PatchStore(package, part=PART, patch=PATCH_ID)


def _check_main(main: Path) -> None:
    data = main.read_bytes()
    if not all(needed in data for needed in REQUIRED):
        raise UnsupportedOpenWebUI(
            f"{main} does not define `log` and `app = FastAPI(...)` at module level as Open WebUI 0.12.4 does; "
            "refusing to add the write guard to it"
        )


def _original(store: PatchStore, manifest: Manifest) -> tuple[FileRecord, bytes]:
    record = manifest.files.get(TARGET)
    backup = store.original(TARGET)
    data = backup.read_bytes() if backup.is_file() else None
    if record is None or data is None or sha256(data) != record.original_sha256:
        raise PatchConflict(f"the backup of the original {TARGET} in {store.root} is missing or damaged")
    return record, data


def _take_over(store: PatchStore, package: Path, main: Path, version: str, force: bool) -> Manifest:
    """Back up main.py as the original (without a block of ours, when `force` takes over one)."""
    data = main.read_bytes()
    if has_block(data) and not force:
        raise PatchConflict(
            f"{main} already holds YouLab's write-guard block but {store.root} has no manifest of it; "
            "run `youlab patch apply --force` to take it over"
        )
    try:
        original = strip_block(data)
    except ValueError as exc:
        raise PatchConflict(f"{main}: {exc}; reinstall open-webui to get a clean main.py") from exc
    store.original(TARGET).parent.mkdir(parents=True, exist_ok=True)
    if original == data:
        store.backup(main)
    else:
        write_atomic(store.original(TARGET), original)
    manifest = Manifest(open_webui_version=version, static_dir=str(package), patch=PATCH_ID)
    manifest.files[TARGET] = FileRecord(sha256(original))
    return manifest


def status(package_dir: Path | None = None) -> ServerPatchStatus:
    package = resolve_package(package_dir)
    main = _main_py(package)
    try:
        version = package_version(package)
    except OpenWebUINotFound:
        version = "unknown"
    result = ServerPatchStatus(PatchState.NOT_APPLIED, package, main, version, version in SUPPORTED_VERSIONS)
    store = _store(package)
    manifest = store.load()
    if manifest is None:
        if has_block(main.read_bytes()):
            result.state = PatchState.MODIFIED
            result.details.append(f"{TARGET} holds the write-guard block but there is no manifest in {store.root}")
    else:
        record, original = _original(store, manifest)
        result.state = classify(digest(main), sha256(patched(original)), record)
        if result.state is PatchState.NOT_APPLIED:
            result.details.append(f"{TARGET} is the original again (Open WebUI reinstalled?): run `youlab patch apply`")
        elif result.state is PatchState.MODIFIED:
            result.details.append(f"{TARGET} was changed since the patch was applied")
        elif result.state is PatchState.OUTDATED:
            result.details.append("written by an earlier version of this patch: run `youlab patch apply` to update")
    # ctime, not mtime: a revert puts the original modification time back.
    result.stale_servers = running.servers_started_before(package, main.stat().st_ctime)
    if result.stale_servers:
        pids = ", ".join(map(str, result.stale_servers))
        result.details.append(
            f"Open WebUI (pid {pids}) started before {TARGET} last changed and runs the code from before: "
            "restart it for this state to take effect"
        )
    return result


def apply(package_dir: Path | None = None, *, force: bool = False) -> ServerPatchStatus:
    """Append the guard block to main.py. Applying twice changes nothing; restart Open WebUI afterwards."""
    package = resolve_package(package_dir)
    main = _main_py(package)
    version = package_version(package)
    check_version(package, version)
    _check_main(main)
    store = _store(package)
    with writable(package), locked(package):
        manifest = store.load() or _take_over(store, package, main, version, force)
        record, original = _original(store, manifest)
        wanted = patched(original)
        current = digest(main)
        if classify(current, sha256(wanted), record) is PatchState.MODIFIED:
            if not force:
                raise PatchConflict(
                    f"{main} changed since the write guard was added; refusing to overwrite it "
                    "(`youlab patch apply --force` takes the current file as the original, "
                    "`youlab patch revert --force` restores the original)"
                )
            # Someone else's main.py (an edit, a hotfix reinstall): keep it, as the new original.
            manifest = _take_over(store, package, main, version, force)
            record, original = _original(store, manifest)
            wanted = patched(original)
        # The manifest first: if we stop half-way, main.py still holds bytes the manifest recognises.
        record.remember(sha256(wanted))
        manifest.open_webui_version = version
        store.save(manifest)
        changed = current != sha256(wanted)
        if changed:
            write_atomic(main, wanted)
    result = status(package)
    result.changed = changed
    return result


def revert(package_dir: Path | None = None, *, force: bool = False) -> ServerPatchStatus:
    """Restore main.py byte for byte (content, mode, times) and forget this part. Works on any Open WebUI version."""
    package = resolve_package(package_dir)
    main = _main_py(package)
    store = _store(package)
    with writable(package), locked(package):
        manifest = store.load()
        if manifest is None:
            data = main.read_bytes()
            if has_block(data):
                if not force:
                    raise PatchConflict(
                        f"{main} holds YouLab's write-guard block but {store.root} has no manifest of it; "
                        "`youlab patch revert --force` removes the block without one"
                    )
                try:
                    write_atomic(main, strip_block(data))
                except ValueError as exc:
                    raise PatchConflict(f"{main}: {exc}; reinstall open-webui to get a clean main.py") from exc
            result = status(package)
            result.changed = has_block(data)
            return result
        record, _ = _original(store, manifest)
        current = digest(main)
        if current not in {record.original_sha256, *record.written_sha256} and not force:
            raise PatchConflict(
                f"{main} changed since the write guard was added; refusing to replace it with the original "
                "(`youlab patch revert --force` does)"
            )
        changed = current != record.original_sha256
        if changed:
            restore(store.original(TARGET), main)
        store.remove()
    result = status(package)
    result.changed = changed
    return result
