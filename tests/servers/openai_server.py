"""The OpenAI test server is the offline demo model itself (one implementation, used by the product and the tests)."""

from youlab_core.demo_model import DemoModelServer as OpenAITestServer

__all__ = ["OpenAITestServer"]
