"""Keeping students' repositories small: pack loose git objects once there are enough of them, in the background.

Each commit adds a handful of small loose objects (~4 KiB each on disk); packing turns hundreds of them into a
few delta-compressed bytes each. The rule is git's own `gc --auto`: estimate the loose objects from a sample of the
`objects/xx` folders, and pack when the estimate passes a threshold (`upkeep_loose_objects`), or when there are more
packs than `upkeep_max_packs` (then all packs become one).

Safe to run at any time, because packing:
- takes the student's lock without waiting (`StudentRepo.try_locked`): a student or agent using the repository makes
  upkeep skip it this tick, and a pending crash repair is finished first;
- deletes only what is durably in a new pack: `git repack` without -d writes the pack, its files and folder are
  fsynced here, and only then `git prune-packed` removes the loose copies (or, when combining, an old pack whose
  every object is in the new one is removed). Unreachable objects are never pruned; crash repair needs none of them
  anyway (it rewrites whatever it needs from the journal), and only an interrupted change ever makes one;
- never changes a commit: history, values and diffs read back identically.

`Upkeep` runs `tick()` every `upkeep_interval_seconds` in the bundle's background and in `youlab scheduler`; a tick
packs at most `upkeep_repos_per_tick` repositories, continuing where the last tick stopped, so thousands of due
repositories are spread over many ticks. `youlab maintenance` (cli/maintenance_cmd.py) uses `pack` and `verify`.
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
import subprocess
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .durable import sync_file
from .repo import StudentRepo

if TYPE_CHECKING:
    from ..settings import Settings
    from .store import MemoryStore

log = logging.getLogger(__name__)

SAMPLE = [f"{i:02x}" for i in range(0, 256, 16)]  # 16 of the 256 objects/xx folders (git samples one: 17)
# Packing uses one thread and writes no server info or bitmap: the machine is shared, and these are not served.
_GIT = ["git", "-c", "pack.threads=1", "-c", "core.fsync=pack,pack-metadata", "-c", "gc.auto=0"]


@dataclass
class RepoReport:
    """What packing (and verifying) did to one student's repository."""

    user_id: str
    status: str  # packed | not due | busy | no repository | failed
    loose_before: int = 0  # estimated, like git gc --auto
    packs_before: int = 0
    bytes_before: int = 0  # allocated on disk, whole repository folder
    bytes_after: int = 0
    seconds: float = 0.0
    verified: bool | None = None  # None: not checked
    problem: str = ""  # why packing or verifying failed, in plain words

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def loose_estimate(git_dir: Path) -> int:
    """Loose objects in the repository, estimated from SAMPLE (git gc --auto does the same with one folder)."""
    objects = git_dir / "objects"
    found = 0
    for name in SAMPLE:
        try:
            found += sum(1 for entry in os.scandir(objects / name) if len(entry.name) == 38)
        except FileNotFoundError:
            continue
    return found * 256 // len(SAMPLE)


def pack_files(git_dir: Path) -> list[Path]:
    return sorted((git_dir / "objects" / "pack").glob("pack-*.pack"))


def disk_bytes(path: Path) -> int:
    """Bytes allocated on disk under `path` (what an operator's disk pays)."""
    total = 0
    for folder, dirs, files in os.walk(path):
        for name in [*dirs, *files]:
            try:
                total += os.lstat(os.path.join(folder, name)).st_blocks * 512
            except FileNotFoundError:
                continue
    return total


def _idx_objects(idx: Path) -> set[bytes]:
    """The object ids a version-2 pack index lists (header, 256-entry fan-out table, then the sorted ids)."""
    data = idx.read_bytes()
    if data[:4] != b"\xfftOc" or int.from_bytes(data[4:8], "big") != 2:
        raise ValueError(f"{idx} is not a version 2 pack index")
    count = int.from_bytes(data[8 + 255 * 4: 8 + 256 * 4], "big")
    start = 8 + 256 * 4
    return {data[start + i * 20: start + (i + 1) * 20] for i in range(count)}


def _git(repo: StudentRepo, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*_GIT, "-C", str(repo.path), *args], capture_output=True, text=True, check=False)


def _repack(repo: StudentRepo, *, combine: bool) -> str:
    """Pack the loose objects (all objects when `combine`), durably, then remove what the new pack holds.
    Returns "" or what went wrong."""
    pack_dir = repo.git_dir / "objects" / "pack"
    before = set(pack_dir.glob("pack-*")) if pack_dir.exists() else set()
    done = _git(repo, "repack", "-q", "-n", "--no-write-bitmap-index", *(["-a"] if combine else []))
    if done.returncode != 0:
        return f"git repack failed in {repo.path}: {done.stderr.strip() or done.returncode}"
    new = sorted(set(pack_dir.glob("pack-*")) - before)
    for path in new:
        sync_file(path)
    sync_file(pack_dir)
    sync_file(pack_dir.parent)
    # Now the pack is on disk for good: only now may the copies it replaces go.
    pruned = _git(repo, "prune-packed", "-q")
    if pruned.returncode != 0:
        return f"git prune-packed failed in {repo.path}: {pruned.stderr.strip() or pruned.returncode}"
    if combine:
        new_idx = [p for p in new if p.suffix == ".idx"]
        kept = set().union(*(_idx_objects(p) for p in new_idx)) if new_idx else set()
        for old in sorted(p for p in before if p.suffix == ".idx"):
            if _idx_objects(old) <= kept:  # every object of the old pack is in the new one
                for part in pack_dir.glob(old.stem + ".*"):
                    part.unlink()
        sync_file(pack_dir)
    return ""


def pack(repo: StudentRepo, user_id: str, *, force: bool = False, threshold: int = 256, max_packs: int = 8,
         floor: int = 0) -> RepoReport:
    """Pack one student's repository if it is due: `loose_estimate - floor >= threshold` (floor: the unreachable
    loose objects the last packing left), or `max_packs` packs (then they combine). `force` (youlab maintenance)
    packs everything into one pack whenever anything is loose or there is more than one pack. Never waits for the
    student's lock: a busy repository is reported as 'busy' and left alone."""
    report = RepoReport(user_id, "no repository")
    if not repo.exists():
        return report
    started = time.perf_counter()
    with repo.try_locked() as got:
        if not got:
            report.status = "busy"
            return report
        report.loose_before = loose_count(repo.git_dir) if force else loose_estimate(repo.git_dir)
        report.packs_before = len(pack_files(repo.git_dir))
        if force:
            due = combine = report.loose_before > 0 or report.packs_before > 1
        else:
            combine = report.packs_before >= max_packs
            due = combine or report.loose_before - floor >= threshold
        if not due:
            report.status = "not due"
            return report
        report.bytes_before = disk_bytes(repo.path)
        report.problem = _repack(repo, combine=combine)
        report.bytes_after = disk_bytes(repo.path)
    report.status = "failed" if report.problem else "packed"
    report.seconds = time.perf_counter() - started
    return report


def loose_count(git_dir: Path) -> int:
    """Every loose object, counted (for an operator's report; upkeep estimates instead)."""
    objects = git_dir / "objects"
    return sum(1 for folder in objects.glob("[0-9a-f][0-9a-f]") for entry in os.scandir(folder)
               if len(entry.name) == 38)


def verify(repo: StudentRepo) -> str:
    """'' when `git fsck --full --strict` finds nothing wrong (dangling objects are not wrong), else its findings."""
    with repo.locked(exclusive=False):
        done = _git(repo, "fsck", "--full", "--strict", "--no-dangling", "--no-progress")
    if done.returncode == 0:
        return ""
    return (done.stdout + done.stderr).strip() or f"git fsck exited with {done.returncode}"


class Upkeep:
    """Packs due repositories in the background, at most `repos_per_tick` each tick (see the module docstring)."""

    def __init__(self, store: MemoryStore, settings: Settings):
        self.store = store
        self.interval = settings.upkeep_interval_seconds
        self.threshold = settings.upkeep_loose_objects
        self.max_packs = settings.upkeep_max_packs
        self.per_tick = settings.upkeep_repos_per_tick
        self._cursor = ""  # the last student examined: the next tick starts after it
        self._floor: dict[str, int] = {}  # estimated loose objects packing could not pack (unreachable ones)
        self._task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()

    def tick(self) -> list[RepoReport]:
        """One round (synchronous: call it in a thread). Returns a report per repository packed or found busy."""
        users = self.store.user_ids()
        order = [u for u in users if u > self._cursor] + [u for u in users if u <= self._cursor]
        reports: list[RepoReport] = []
        packed = 0
        for user_id in order:
            if packed >= self.per_tick:
                break
            self._cursor = user_id
            repo = self.store.student(user_id).repo
            floor = self._floor.get(user_id, 0)
            if not self._due(repo, floor):  # cheap check without the lock; pack() checks again under it
                continue
            report = pack(repo, user_id, threshold=self.threshold, max_packs=self.max_packs, floor=floor)
            if report.status == "packed":
                self._floor[user_id] = loose_estimate(repo.git_dir)
            if report.status == "failed":
                log.error("upkeep of %s: %s", user_id, report.problem)
            if report.status in ("packed", "failed"):
                packed += 1
            if report.status != "not due":
                reports.append(report)
        return reports

    def _due(self, repo: StudentRepo, floor: int) -> bool:
        return (loose_estimate(repo.git_dir) - floor >= self.threshold
                or len(pack_files(repo.git_dir)) >= self.max_packs)

    def start(self) -> asyncio.Task[None]:
        self._stopping.clear()
        self._task = asyncio.get_running_loop().create_task(self.run_forever(), name="youlab-memory-upkeep")
        return self._task

    async def run_forever(self) -> None:
        # Start at a random point of the first interval, so processes started together do not tick together.
        delay = random.uniform(0, self.interval)
        while not self._stopping.is_set():
            try:
                await asyncio.wait_for(self._stopping.wait(), timeout=delay)
                return
            except asyncio.TimeoutError:
                pass
            try:
                reports = await asyncio.to_thread(self.tick)
            except Exception:  # upkeep must never stop the process it runs in; the next tick tries again
                log.exception("memory upkeep tick failed")
            else:
                if reports:
                    log.info("memory upkeep: %s", ", ".join(f"{r.user_id} {r.status}" for r in reports))
            delay = self.interval

    async def stop(self) -> None:
        self._stopping.set()
        if self._task is not None:
            await self._task
            self._task = None
