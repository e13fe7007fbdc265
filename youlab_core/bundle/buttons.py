"""How YouLab's Action functions run a button (plugins/youlab_review.py, youlab_memory.py and youlab_dashboard.py are
shells around `press`).

Every button needs the same three steps: the bundle built from the stored settings, started (its thread registry is
what each button checks the chat against), then the button's own handler. Open WebUI shows the text of an exception
raised by an Action to the user as it is, so a `UserFacingError` goes out in its own words and anything else becomes
the Action's one fixed sentence, with the detail in the server log: no exception text ever reaches the page.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from ..errors import UserFacingError
from .context import Bundle, bundle_for
from .valves import stored_filter_settings

log = logging.getLogger(__name__)

Emit = Callable[[dict[str, Any]], Awaitable[Any]] | None
Handler = Callable[..., Awaitable[dict[str, Any] | None]]  # (bundle, button, body, user, *, event_call, event_emitter)


async def press(handler: Handler, button: str, body: dict[str, Any], user: dict[str, Any] | None, *,
                event_call: Any = None, event_emitter: Emit = None, failed: str) -> dict[str, Any] | None:
    """Run `handler` for `button` and return Open WebUI's action result; raise a plain Exception whose text is the
    user's to read (`failed` when the handler broke in a way it did not put into words)."""
    try:
        bundle: Bundle = bundle_for(await stored_filter_settings(), settings_source=stored_filter_settings)
        await bundle.start()
        return await handler(bundle, button, body, user or {}, event_call=event_call, event_emitter=event_emitter)
    except UserFacingError as exc:
        raise Exception(str(exc)) from None
    except Exception:
        log.exception("YouLab button %r failed", button)
        raise Exception(failed) from None
