"""The demo model and the test servers: per-call cost, and whether they keep up with the runner's concurrency."""

from __future__ import annotations

import asyncio
import statistics
import time

import httpx

from youlab_core.demo_model import MODEL_ID, DemoModelServer, reply_for
from youlab_core.llm import OpenAICompatibleLLM
from youlab_core.prompts import dialectic_messages

from .table import Row, ms, time_calls


def _transcript(n: int) -> list[tuple[str, str]]:
    topics = ["my grandmother's garden", "soccer practice", "robotics club", "deadlines", "my essay draft"]
    return [
        ("user" if i % 2 == 0 else "assistant", f"Message {i} is about {topics[i % len(topics)]}. It has detail {i}.")
        for i in range(n)
    ]


async def _llm_calls(base_url: str, messages: list, repeat: int) -> list[float]:
    samples = []
    async with OpenAICompatibleLLM(base_url, "", MODEL_ID) as llm:
        await llm.complete(messages)
        for _ in range(repeat):
            start = time.perf_counter()
            await llm.complete(messages)
            samples.append(time.perf_counter() - start)
    return samples


async def _concurrent_dialectic(url: str, calls: int, concurrency: int) -> float:
    """Wall time for `calls` Honcho dialectic requests, `concurrency` at a time, over one keep-alive pool."""
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    semaphore = asyncio.Semaphore(concurrency)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=30) as client:
        async def one(i: int) -> None:
            async with semaphore:
                response = await client.post("/v3/workspaces/w/peers/student_0/chat", json={"query": "garden?"})
                response.raise_for_status()

        start = time.perf_counter()
        await asyncio.gather(*(one(i) for i in range(calls)))
        return time.perf_counter() - start


def run(quick: bool) -> list[Row]:
    repeat = 30 if quick else 300
    rows: list[Row] = []
    messages = dialectic_messages("", "What is the essay about? garden?", _transcript(200))
    pure = time_calls(lambda: reply_for(messages), repeat)
    with DemoModelServer() as demo, httpx.Client() as client:
        health = time_calls(lambda: client.get(demo.url + "/health"), repeat)
        over_http = asyncio.run(_llm_calls(demo.base_url, messages, repeat))
    rows.append(Row("demo", "dialectic answer, 200-message transcript, over HTTP (median)",
                    ms(statistics.median(over_http)),
                    f"in-process reply_for: {ms(statistics.median(pure))}; GET /health: {ms(statistics.median(health))}"))

    from tests.servers.honcho_server import HonchoTestServer  # the test servers live with the tests

    latency, concurrency = 0.2, 32
    calls = 128 if quick else 640
    with HonchoTestServer() as honcho:
        with httpx.Client(base_url=honcho.url) as client:
            client.post("/v3/workspaces", json={"id": "w"})
            client.post("/v3/workspaces/w/sessions", json={"id": "s", "peers": {"student_0": {}}})
            client.post("/v3/workspaces/w/sessions/s/messages",
                        json={"messages": [{"peer_id": "student_0", "content": t} for _, t in _transcript(20)]})
        honcho.set_latency(latency, kind="chat")
        wall = asyncio.run(_concurrent_dialectic(honcho.url, calls, concurrency))
    ideal = calls * latency / concurrency
    rows.append(Row("demo", f"Honcho test server: {calls} dialectic calls, 200 ms each, concurrency {concurrency}",
                    f"{wall:.2f} s ({wall / ideal:.2f}x ideal)", f"ideal bound: {ideal:.2f} s"))
    return rows
