"""The read-only thread patch: apply / status / revert on a copy of the installed Open WebUI, the page weight it
adds, and (full run only) how long after a click in the sidebar an agent thread turns read-only in a real browser,
next to how long the same click takes to show an ordinary chat's composer."""

from __future__ import annotations

import gzip
import statistics
import tempfile
import time
from pathlib import Path

import openwebui_patches
from openwebui_patches import assets

from .table import Row, ms, percentile, summary


def _copy(root: Path) -> Path:
    from tests.openwebui_patches.conftest import copy_open_webui

    return copy_open_webui(root)


def _installer_rows(repeat: int) -> list[Row]:
    samples: dict[str, list[float]] = {"apply": [], "again": [], "status": [], "revert": []}
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(repeat):
            package = _copy(Path(tmp) / str(i))
            for name, call in (
                ("apply", openwebui_patches.apply),
                ("again", openwebui_patches.apply),
                ("status", openwebui_patches.status),
                ("revert", openwebui_patches.revert),
            ):
                start = time.perf_counter()
                call(package)
                samples[name].append(time.perf_counter() - start)
    note = f"{repeat} copies of the installed frontend/static"
    return [
        Row("patch", "apply (first time)", summary(samples["apply"]), "", note),
        Row("patch", "apply again (no change)", summary(samples["again"]), "", "hashes every file, writes nothing"),
        Row("patch", "status", summary(samples["status"])),
        Row("patch", "revert (byte-for-byte)", summary(samples["revert"])),
    ]


def _weight_row() -> Row:
    data = b"".join(assets.asset_bytes(n) for n in assets.ASSETS) + assets.loader_block()
    return Row(
        "patch", "page weight added", f"{len(data) / 1024:.1f} KiB", "",
        f"{len(gzip.compress(data)) / 1024:.1f} KiB gzipped; 2 extra requests per page load (script, stylesheet)",
    )


def _browser_rows(rounds: int) -> list[Row]:
    from playwright.sync_api import sync_playwright

    from tests.e2e.student_world import make_student_world
    from tests.support.browser import CHROMIUM, CHROMIUM_ARGS, StudentPage
    from tests.support.openwebui_stack import running_openwebui

    to_banner: list[float] = []
    to_composer: list[float] = []
    with tempfile.TemporaryDirectory() as tmp, running_openwebui(Path(tmp)) as ow:
        world = make_student_world(ow, "Bench Student", ("progression-grader",))
        thread = world.threads["progression-grader"]
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
            student = StudentPage.open(browser, ow.url, world.token)
            student.open_chat(world.course_chat_id)
            student.wait_for_composer()
            student.expand_folder(thread.folder_id)
            for _ in range(rounds):
                start = time.perf_counter()
                student.click_link(thread.chat_id)
                student.wait_for_read_only()
                to_banner.append(time.perf_counter() - start)
                start = time.perf_counter()
                student.click_link(world.course_chat_id)
                student.wait_for_normal_chat()
                to_composer.append(time.perf_counter() - start)
            browser.close()
    return [Row(
        "patch", "sidebar click -> agent thread read-only (banner shown)",
        f"median {ms(statistics.median(to_banner))}, p99 {ms(percentile(to_banner, 99))}",
        f"click -> ordinary chat's composer: {summary(to_composer)}",
        f"{rounds} rounds, headless chromium, one GET /api/v1/chats/<id> per navigation (folder only when the chat has no marker)",
    )]


def run(quick: bool) -> list[Row]:
    rows = _installer_rows(5 if quick else 30)
    rows.append(_weight_row())
    if not quick:
        rows.extend(_browser_rows(20))
    return rows
