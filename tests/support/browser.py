"""A real browser for the end-to-end tests: Playwright for Python driving Debian's chromium, headless.

`chromium` (module-scoped fixture) is the browser; `StudentPage.open(...)` gives a fresh, logged-in page (its own
context: storage, cookies and clipboard) with a log of the chat completions the page sent and of page errors.
Screenshots go to test-artifacts/browser/ (gitignored).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "browser"
# Explicit waits: long enough for a 2-core CI machine, never slept through on success.
PAGE_TIMEOUT_MS = 30_000


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Iterator[None]:
    # Lets a fixture see whether its test failed (to keep a screenshot of the page as it was).
    outcome = yield
    report = outcome.get_result()
    if report.when == "call":
        item.stash[_FAILED] = report.failed


_FAILED = pytest.StashKey[bool]()


def failed_test_name(request: pytest.FixtureRequest) -> str | None:
    """The test's name when it failed (for a screenshot named after it), else None."""
    return request.node.name if request.node.stash.get(_FAILED, False) else None


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: scripts/test installs Debian's chromium (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@dataclass
class StudentPage:
    """One logged-in browser tab of a student."""

    base_url: str
    context: Any
    page: Any
    completions: list[dict[str, Any]] = field(default_factory=list)  # POST /api/chat/completions bodies
    errors: list[str] = field(default_factory=list)  # uncaught page errors

    @classmethod
    def open(cls, browser: Any, base_url: str, token: str, *, sidebar: bool = True) -> StudentPage:
        context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-US", timezone_id="UTC")
        context.set_default_timeout(PAGE_TIMEOUT_MS)
        context.grant_permissions(["clipboard-read", "clipboard-write"], origin=base_url)
        page = context.new_page()
        student = cls(base_url, context, page)
        page.on("pageerror", lambda exc: student.errors.append(str(exc)))
        page.on("request", student._record)
        version = httpx.get(f"{base_url}/api/version", timeout=30).json()["version"]
        # Logged in the way the login form leaves the browser: a token in localStorage, written before any of the
        # page's scripts run (no race with the auth page). The version skips the What's New dialog; the sidebar
        # and its Folders section start open (Open WebUI keeps both in localStorage).
        settings = {
            "token": token,
            "version": version,
            "sidebar": "true" if sidebar else "false",
            "sidebar-folders-folder-state": "true",
        }
        context.add_init_script(
            f"""(() => {{
                if (location.origin !== {json.dumps(base_url)}) return;
                const settings = {json.dumps(settings)};
                if (sessionStorage.getItem('youlab-test-login')) return;
                sessionStorage.setItem('youlab-test-login', '1');
                for (const [key, value] of Object.entries(settings)) localStorage.setItem(key, value);
            }})();"""
        )
        return student

    def _record(self, request: Any) -> None:
        if request.method == "POST" and request.url.startswith(f"{self.base_url}/api/chat/completions"):
            try:
                self.completions.append(request.post_data_json or {})
            except Exception:  # a body that is not JSON still counts as a send
                self.completions.append({})

    def goto(self, path: str) -> None:
        self.page.goto(f"{self.base_url}{path}")

    def open_chat(self, chat_id: str) -> None:
        self.goto(f"/c/{chat_id}")
        self.page.wait_for_selector("#messages-container")

    def click_link(self, chat_id: str) -> None:
        """Navigate inside the single-page app through a chat's link in the sidebar (no page load).

        The click is dispatched on the link itself: the sidebar's hover previews can make the link briefly inert
        to Playwright's pointer checks, while the app's router handles the click event either way."""
        link = self.page.locator(f"a[href='/c/{chat_id}']").first
        link.wait_for(state="attached")
        link.dispatch_event("click")
        self.page.wait_for_url(f"**/c/{chat_id}")

    def expand_folder(self, folder_id: str) -> None:
        """Open a sidebar folder (Open WebUI remembers the state per folder, so only click when it is closed)."""
        toggle = self.page.locator(f"#folder-{folder_id}-button button[aria-expanded]").first
        toggle.wait_for()
        if toggle.get_attribute("aria-expanded") != "true":
            toggle.click()
        self.page.wait_for_selector(f"#folder-{folder_id}-button button[aria-expanded='true']")

    def composer_visible(self) -> bool:
        return self.page.locator("#message-input-container").is_visible()

    def wait_for_composer(self) -> None:
        self.page.wait_for_selector("#message-input-container", state="visible")

    def wait_for_read_only(self) -> str:
        """Waits for the read-only banner; returns its text."""
        banner = self.page.wait_for_selector("#youlab-readonly-banner", state="visible")
        return banner.inner_text()

    def wait_for_decision(self, chat_id: str) -> dict[str, Any]:
        """Waits until the read-only script has the server's answer for this chat; returns its verdict."""
        self.page.wait_for_function(
            "id => { const s = window.__youlabReadonly && window.__youlabReadonly.state();"
            " return !!s && s.chatId === id && s.decided; }",
            arg=chat_id,
        )
        return self.page.evaluate("window.__youlabReadonly.state()")

    def wait_for_normal_chat(self) -> None:
        self.page.wait_for_function(
            "() => !document.documentElement.classList.contains('youlab-readonly-thread')"
            " && !document.getElementById('youlab-readonly-banner')"
        )
        self.wait_for_composer()

    def send(self, text: str) -> None:
        """Type into the composer and press Enter, as a student does."""
        self.page.locator("#chat-input").click()
        self.page.keyboard.type(text)
        self.page.keyboard.press("Enter")

    def wait_for_assistant_text(self, text: str) -> None:
        self.page.locator("#messages-container").get_by_text(text, exact=False).last.wait_for(state="visible")

    def add_login_cookie(self, token: str) -> None:
        """The `token` cookie the login form also sets: links the browser opens by itself (a file to download) are
        sent with it, as for a student who logged in."""
        self.context.add_cookies([{"name": "token", "value": token, "url": self.base_url}])

    def click_action(self, name: str) -> None:
        """Click an Action button (by its name) under the chat's last message."""
        self.page.locator(f"#messages-container button[aria-label='{name}']").last.click()

    def dialog(self, title_start: str, *, exact: bool = False) -> Any:
        """The open Open WebUI dialog (confirm / input / select) whose title starts with `title_start` (is it, when
        `exact`: a dialog that follows another with a longer title must not be taken for it)."""
        box = self.page.locator(f"[role='dialog'][aria-label{'' if exact else '^'}='{title_start}']")
        box.wait_for()
        return box

    def confirm(self, box: Any) -> None:
        box.get_by_role("button", name="Confirm", exact=True).click()
        box.wait_for(state="detached")

    def screenshot(self, name: str) -> Path:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / f"{name}.png"
        self.page.screenshot(path=str(path))
        return path

    def close(self, failed_test: str | None = None) -> None:
        if failed_test:
            try:
                self.screenshot(f"failed-{failed_test}")
            except Exception:  # the page may be gone; the test's own error says more
                pass
        self.context.close()
