"""The offline demo model: an OpenAI-compatible server that answers by fixed rules (it is not an LLM).

It lets every flow of the product run without a model provider, and it is the LLM the tests use.
See docs/demo-model.md.
"""

from .answers import NOTHING_KNOWN_REPLY, reply_for
from .http import HTTPError, JSONServer, LoggedRequest, Request, Response
from .server import MODEL_ID, MODEL_NAME, OWNED_BY, DemoModelServer

__all__ = [
    "DemoModelServer",
    "MODEL_ID",
    "MODEL_NAME",
    "OWNED_BY",
    "NOTHING_KNOWN_REPLY",
    "reply_for",
    "JSONServer",
    "HTTPError",
    "Request",
    "Response",
    "LoggedRequest",
]
