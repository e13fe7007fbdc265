"""`youlab demo-model --host 127.0.0.1 --port 8765`: serve the offline demo model until Ctrl-C."""

from __future__ import annotations

import argparse
import sys
import threading

from ..demo_model import MODEL_ID, MODEL_NAME, DemoModelServer


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "demo-model", help="serve the offline demo model (OpenAI-compatible; answers by rules, not an LLM)"
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8765, help="port (default 8765; 0 picks a free one)")
    parser.add_argument("--api-key", default=None, help="require this bearer key (default: accept any)")
    parser.set_defaults(handler=demo_model_command)


def demo_model_command(args: argparse.Namespace) -> int:
    try:
        # A long-running server keeps only a short request log (it exists for tests).
        server = DemoModelServer(args.host, args.port, api_key=args.api_key, max_logged=100).start()
    except OSError as exc:
        print(f"error: cannot listen on {args.host}:{args.port}: {exc}", file=sys.stderr)
        return 2
    # The URL line comes first and alone, so scripts can read it (e.g. `head -n1`).
    print(server.base_url, flush=True)
    print(f"model {MODEL_ID!r} ({MODEL_NAME}); Ctrl-C to stop", file=sys.stderr, flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    return 0
