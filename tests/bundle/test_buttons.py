"""youlab_core/bundle/buttons.py through each Action plugin that uses it (youlab_review, youlab_memory,
youlab_dashboard): the button gets a started bundle, a user-facing error reaches the page in its own words, and any
other failure becomes the Action's fixed sentence with the detail only in the log."""

from __future__ import annotations

from typing import Any

import pytest

from youlab_core.bundle import buttons
from youlab_core.bundle.dashboard_actions import FAILED as DASHBOARD_FAILED
from youlab_core.bundle.review import SAVE_FAILED, ReviewError
from youlab_core.errors import PermissionDenied

from .conftest import load_plugin

# plugin -> (the module attribute its Action calls, the sentence shown for an unexpected failure)
PLUGINS = {
    "youlab_review": ("bundle_review", "review", SAVE_FAILED),
    "youlab_memory": ("memory_actions", "button", SAVE_FAILED),
    "youlab_dashboard": ("dashboard_actions", "button", DASHBOARD_FAILED),
}


class _StartedBundle:
    started = False

    async def start(self) -> None:
        self.started = True


@pytest.fixture
def bundle(monkeypatch: pytest.MonkeyPatch) -> _StartedBundle:
    made = _StartedBundle()

    async def settings() -> None:
        return None

    monkeypatch.setattr(buttons, "stored_filter_settings", settings)
    monkeypatch.setattr(buttons, "bundle_for", lambda *args, **kwargs: made)
    return made


@pytest.mark.parametrize("name", sorted(PLUGINS))
async def test_the_button_runs_on_a_started_bundle_with_the_users_body(name: str, bundle: _StartedBundle,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    plugin = load_plugin(name)
    module, attr, _ = PLUGINS[name]
    seen: dict[str, Any] = {}

    async def handler(got: Any, button: str, body: dict[str, Any], user: dict[str, Any], **kwargs: Any) -> dict:
        seen.update(bundle=got, started=got.started, button=button, body=body, user=user, **kwargs)
        return {"youlab": {"ok": True}}

    monkeypatch.setattr(getattr(plugin, module), attr, handler)
    result = await plugin.Action().action({"chat_id": "c"}, __user__={"id": "u-1"}, __id__="refresh",
                                          __event_call__="call", __event_emitter__="emit")
    assert result == {"youlab": {"ok": True}}
    assert seen == {"bundle": bundle, "started": True, "button": "refresh", "body": {"chat_id": "c"},
                    "user": {"id": "u-1"}, "event_call": "call", "event_emitter": "emit"}


@pytest.mark.parametrize("name", sorted(PLUGINS))
@pytest.mark.parametrize(("raised", "in_its_own_words"), [
    (ReviewError("This chat holds no agent report to review."), True),
    (PermissionDenied("change x does not belong to you"), True),
    (RuntimeError("/srv/youlab/state.db is locked"), False),
])
async def test_the_page_reads_user_facing_text_and_never_exception_text(
        name: str, raised: Exception, in_its_own_words: bool, bundle: _StartedBundle,
        monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    plugin = load_plugin(name)
    module, attr, failed = PLUGINS[name]

    async def fail(*args: Any, **kwargs: Any) -> dict:
        raise raised

    monkeypatch.setattr(getattr(plugin, module), attr, fail)
    with pytest.raises(Exception) as info:
        await plugin.Action().action({"chat_id": "c"}, __user__={"id": "stu-1"}, __id__="x")
    assert type(info.value) is Exception  # Open WebUI shows a plain Exception's text as is
    assert str(info.value) == (str(raised) if in_its_own_words else failed)
    assert ("state.db is locked" in caplog.text) == (not in_its_own_words)
