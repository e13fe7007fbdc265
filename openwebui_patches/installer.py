"""apply / revert / status of the front-end part of the patch (the read-only view of agent threads) on an installed
Open WebUI; server.py is the other part.

The durable target is `open_webui/frontend/static/`, which Open WebUI copies into STATIC_DIR at every start. A
running server's STATIC_DIR can be patched too (`static_dir`), so no restart is needed; it is kept equal to the
package's copy. Every change is recorded (see manifest.py) so that revert restores the originals byte for byte,
and nothing is overwritten that the patch did not write unless `force` is given.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path

from . import assets
from .common import (
    SUPPORTED_VERSIONS,
    PatchConflict,
    PatchState,
    UnsupportedOpenWebUI,
    check_version,
    classify,
    combine,
    digest,
    locked,
    resolve_package,
    restore,
    writable,
)
from .locate import OpenWebUINotFound, frontend_static_dir, package_version
from .manifest import FileRecord, Manifest, PatchStore, write_atomic

@dataclass
class PatchStatus:
    state: PatchState
    package_dir: Path
    static_dir: Path
    version: str
    supported: bool
    live_static_dir: Path | None = None
    live_state: PatchState | None = None
    details: list[str] = field(default_factory=list)

    def describe(self) -> str:
        part = f"front-end view ({assets.PATCH_ID})"
        lines = [f"{part}: {self.state.value} in {self.static_dir} (Open WebUI {self.version})"]
        if not self.supported:
            lines.append(f"  Open WebUI {self.version} is not supported (supported: {', '.join(SUPPORTED_VERSIONS)})")
        if self.live_static_dir is not None and self.live_state is not None:
            lines.append(f"  live STATIC_DIR {self.live_static_dir}: {self.live_state.value}")
        lines.extend(f"  {detail}" for detail in self.details)
        return "\n".join(lines)


def _resolve(package_dir: Path | None) -> tuple[Path, Path]:
    package = resolve_package(package_dir)
    return package, frontend_static_dir(package)


def _live(static_dir: Path | None, package_static: Path) -> Path | None:
    if static_dir is None:
        return None
    live = static_dir.resolve()
    if live == package_static:
        return None
    if not live.is_dir():
        raise OpenWebUINotFound(f"STATIC_DIR {live} does not exist (is Open WebUI started with that STATIC_DIR?)")
    return live


def _check_supported(package: Path, version: str) -> None:
    check_version(package, version)
    index = package / "frontend" / "index.html"
    if not index.is_file() or b"/static/loader.js" not in index.read_bytes():
        raise UnsupportedOpenWebUI(f"{index} does not load /static/loader.js, so the patch could never run there")


def _original_loader(store: PatchStore, manifest: Manifest) -> bytes:
    record = manifest.files.get(assets.LOADER)
    if record is None or record.original_sha256 is None:
        return b""
    backup = store.original(assets.LOADER)
    data = backup.read_bytes() if backup.is_file() else None
    if data is None or assets.sha256(data) != record.original_sha256:
        raise PatchConflict(f"the backup of the original loader.js in {store.root} is missing or damaged")
    return data


def _fresh_manifest(store: PatchStore, static: Path, version: str, force: bool) -> Manifest:
    """First apply: back up the originals. Refuses to take files that already look patched as originals."""
    loader = static / assets.LOADER
    leftovers = [name for name in assets.ASSETS if (static / name).exists()]
    if loader.is_file() and assets.has_block(loader.read_bytes()):
        leftovers.append(assets.LOADER)
    if leftovers and not force:
        raise PatchConflict(
            f"{static} already holds YouLab patch files ({', '.join(leftovers)}) but no manifest in {store.root}; "
            "run `youlab patch apply --force` to take them over"
        )
    manifest = Manifest(open_webui_version=version, static_dir=str(static))
    if loader.is_file():
        data = loader.read_bytes()
        if assets.has_block(data):
            # Taken over with --force: the original is the file without our block.
            store.root.joinpath("originals").mkdir(parents=True, exist_ok=True)
            write_atomic(store.original(assets.LOADER), assets.strip_block(data))
            shutil.copystat(loader, store.original(assets.LOADER))
        else:
            store.backup(loader)
        manifest.files[assets.LOADER] = FileRecord(assets.sha256(store.original(assets.LOADER).read_bytes()))
    else:
        manifest.files[assets.LOADER] = FileRecord(None)
    for name in assets.ASSETS:
        manifest.files[name] = FileRecord(None)
    return manifest


def _sync_live(
    live: Path, wanted: dict[str, bytes | None], allowed: dict[str, set[str | None]], order: tuple[str, ...], force: bool
) -> None:
    """Make the running server's STATIC_DIR hold `wanted` (None: absent), refusing bytes we do not recognise."""
    conflicts = [n for n in wanted if not force and digest(live / n) not in allowed[n] | {_hash(wanted[n])}]
    if conflicts:
        raise PatchConflict(
            f"{live} has its own versions of {', '.join(conflicts)} (not Open WebUI's nor the patch's); "
            "refusing to overwrite them without --force"
        )
    for name in order:
        data, target = wanted[name], live / name
        if data is None:
            target.unlink(missing_ok=True)
        elif digest(target) != assets.sha256(data):
            write_atomic(target, data)


def _hash(data: bytes | None) -> str | None:
    return None if data is None else assets.sha256(data)


def status(package_dir: Path | None = None, static_dir: Path | None = None) -> PatchStatus:
    package, static = _resolve(package_dir)
    live = _live(static_dir, static)
    try:
        version = package_version(package)
    except OpenWebUINotFound:
        version = "unknown"
    result = PatchStatus(
        PatchState.NOT_APPLIED, package, static, version, version in SUPPORTED_VERSIONS, live_static_dir=live
    )
    store = PatchStore(package)
    manifest = store.load()
    if manifest is None:
        loader = static / assets.LOADER
        leftovers = [n for n in assets.ASSETS if (static / n).exists()]
        if loader.is_file() and assets.has_block(loader.read_bytes()):
            leftovers.append(assets.LOADER)
        if leftovers:
            result.state = PatchState.MODIFIED
            result.details.append(f"patch files without a manifest: {', '.join(leftovers)}")
        if live is not None:
            # Not applied: the live folder should hold the package's loader.js and none of the assets.
            expected = {n: digest(static / n) if n == assets.LOADER else None for n in assets.FILES}
            result.live_state = combine(
                [PatchState.NOT_APPLIED if digest(live / n) == expected[n] else PatchState.MODIFIED for n in assets.FILES]
            )
        return result
    desired = {n: assets.sha256(d) for n, d in assets.desired_files(_original_loader(store, manifest)).items()}
    states: list[PatchState] = []
    for name in assets.FILES:
        record = manifest.files.get(name)
        state = classify(digest(static / name), desired[name], record)
        states.append(state)
        if state is PatchState.NOT_APPLIED:
            result.details.append(f"{name} is the original again (Open WebUI reinstalled?): run `youlab patch apply`")
        elif state is PatchState.MODIFIED:
            result.details.append(f"{name} was changed since the patch was applied")
    result.state = combine(states)
    if result.state is PatchState.OUTDATED:
        result.details.append("written by an earlier version of this patch: run `youlab patch apply` to update")
    if live is not None:
        result.live_state = combine(
            [classify(digest(live / n), desired[n], manifest.files.get(n)) for n in assets.FILES]
        )
        if result.live_state is not PatchState.APPLIED and result.state is PatchState.APPLIED:
            result.details.append(f"restart Open WebUI or run `youlab patch apply --static-dir {live}`")
    return result


def apply(package_dir: Path | None = None, static_dir: Path | None = None, *, force: bool = False) -> PatchStatus:
    """Patch the package (and a running server's STATIC_DIR when given). Applying twice changes nothing."""
    package, static = _resolve(package_dir)
    live = _live(static_dir, static)
    version = package_version(package)
    _check_supported(package, version)
    store = PatchStore(package)
    with writable(package), locked(package):
        manifest = store.load() or _fresh_manifest(store, static, version, force)
        files = assets.desired_files(_original_loader(store, manifest))
        conflicts = [
            name
            for name in assets.FILES
            if classify(digest(static / name), assets.sha256(files[name]), manifest.files.get(name))
            is PatchState.MODIFIED
        ]
        if conflicts and not force:
            raise PatchConflict(
                f"{', '.join(conflicts)} in {static} changed since the patch was applied; refusing to overwrite "
                "them (`youlab patch apply --force` overwrites, `youlab patch revert --force` restores the originals)"
            )
        # The manifest first: if we stop half-way, every file still holds bytes the manifest recognises.
        for name, data in files.items():
            manifest.files[name].remember(assets.sha256(data))
        manifest.open_webui_version = version
        store.save(manifest)
        for name in assets.FILES:
            if digest(static / name) != assets.sha256(files[name]):
                write_atomic(static / name, files[name])
        if live is not None:
            allowed = {n: {r.original_sha256, *r.written_sha256} for n, r in manifest.files.items()}
            _sync_live(live, dict(files), allowed, assets.FILES, force)
    return status(package, static_dir)


def revert(package_dir: Path | None = None, static_dir: Path | None = None, *, force: bool = False) -> PatchStatus:
    """Restore the original files byte for byte and forget the patch. Works on any Open WebUI version."""
    package, static = _resolve(package_dir)
    live = _live(static_dir, static)
    store = PatchStore(package)
    with writable(package), locked(package):
        manifest = store.load()
        if manifest is None:
            leftovers = status(package).details
            if leftovers and not force:
                raise PatchConflict(
                    f"{static}: {leftovers[0]}; `youlab patch revert --force` removes them without a manifest"
                )
            if force:
                loader = static / assets.LOADER
                if loader.is_file() and assets.has_block(loader.read_bytes()):
                    write_atomic(loader, assets.strip_block(loader.read_bytes()))
                for name in assets.ASSETS:
                    (static / name).unlink(missing_ok=True)
            return status(package, static_dir)
        allowed = {n: {r.original_sha256, *r.written_sha256} for n, r in manifest.files.items()}
        conflicts = [n for n, ok in allowed.items() if digest(static / n) not in ok]
        if conflicts and not force:
            raise PatchConflict(
                f"{', '.join(conflicts)} in {static} changed since the patch was applied; refusing to replace them "
                "with the originals (`youlab patch revert --force` does)"
            )
        originals: dict[str, bytes | None] = {}
        for name in reversed(assets.FILES):  # the loader first, so no page loads a script that is gone
            record, target = manifest.files[name], static / name
            if record.original_sha256 is None:
                target.unlink(missing_ok=True)
                originals[name] = None
            else:
                backup = store.original(name)
                if digest(backup) != record.original_sha256:
                    raise PatchConflict(f"the backup of the original {name} in {store.root} is missing or damaged")
                if digest(target) != record.original_sha256:
                    restore(backup, target)
                originals[name] = backup.read_bytes()
        if live is not None:
            _sync_live(live, originals, allowed, tuple(reversed(assets.FILES)), force)
        store.remove()
    return status(package, static_dir)
