"""Backoff between retries (jitter, growth, cap, Retry-After) and `call_with_retries` deciding with `is_transient`."""

from __future__ import annotations

import asyncio
import random

import honcho
import httpx
import pytest

from youlab_core.llm import LLMError
from youlab_core.runner import retry
from youlab_core.runner.retry import CallTimeout, backoff_delay, call_with_retries

SAMPLES = 2000


def samples(attempt: int, base: float, cap: float, retry_after: float | None = None, seed: int = 7) -> list[float]:
    random.seed(seed)  # fixed, so a pass or a failure is the same on every run
    return [backoff_delay(attempt, base, cap, retry_after) for _ in range(SAMPLES)]


@pytest.mark.parametrize("attempt", [0, 1, 2, 3, 5])
def test_jitter_stays_within_half_and_all_of_the_delay(attempt):
    delay = 0.5 * 2 ** attempt
    got = samples(attempt, 0.5, 1000.0)
    assert all(delay / 2 <= d <= delay for d in got)
    # The jitter spreads over the whole range: not a constant, not only its top or bottom.
    assert min(got) < delay * 0.52 and max(got) > delay * 0.98
    assert len(set(got)) > SAMPLES * 0.9
    assert delay * 0.7 < sum(got) / len(got) < delay * 0.8  # uniform over [delay/2, delay]: mean 3/4 delay


def test_delay_doubles_with_each_attempt():
    means = [sum(samples(attempt, 0.25, 1000.0)) / SAMPLES for attempt in range(6)]
    for before, after in zip(means, means[1:]):
        assert after / before == pytest.approx(2.0, rel=0.05)


@pytest.mark.parametrize("attempt", [6, 10, 50, 2000])
def test_the_cap_bounds_every_delay(attempt):
    got = samples(attempt, 0.5, 30.0)
    assert all(15.0 <= d <= 30.0 for d in got)  # capped first, then jittered: [cap/2, cap]


def test_a_zero_base_or_cap_means_no_wait():
    assert backoff_delay(3, 0.0, 30.0) == 0.0
    assert backoff_delay(3, 0.5, 0.0) == 0.0


def test_retry_after_is_waited_out_up_to_the_cap():
    assert all(d == 10.0 for d in samples(0, 0.5, 30.0, retry_after=10.0))  # longer than the backoff: it wins
    assert all(d == 30.0 for d in samples(0, 0.5, 30.0, retry_after=600.0))  # but never past the cap
    assert all(4.0 <= d <= 8.0 for d in samples(4, 0.5, 30.0, retry_after=1.0))  # shorter: the backoff wins
    assert backoff_delay(0, 0.0, 0.0, retry_after=5.0) == 5.0  # no cap configured: the server's word


class Recorder:
    def __init__(self) -> None:
        self.sleeps: list[float] = []

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)


@pytest.fixture
def slept(monkeypatch) -> Recorder:
    recorder = Recorder()
    monkeypatch.setattr(retry.asyncio, "sleep", recorder.sleep)
    return recorder


def failing(*errors: BaseException, result: str = "ok"):
    queue = list(errors)
    calls = []

    async def call() -> str:
        calls.append(1)
        if queue:
            raise queue.pop(0)
        return result

    return call, calls


async def test_transient_dependency_errors_are_retried_with_their_retry_after(slept):
    request = httpx.Request("GET", "http://honcho.test/")
    call, calls = failing(httpx.ConnectError("refused", request=request), honcho.RateLimitError(retry_after=2.0))
    assert await call_with_retries(call, timeout=None, retries=3, backoff=0.1, backoff_max=5.0) == "ok"
    assert len(calls) == 3
    assert 0.05 <= slept.sleeps[0] <= 0.1 and slept.sleeps[1] == 2.0


async def test_a_refusal_is_not_retried(slept):
    call, calls = failing(LLMError("HTTP 400: bad request", status=400))
    with pytest.raises(LLMError):
        await call_with_retries(call, timeout=None, retries=3, backoff=0.1, backoff_max=5.0)
    assert len(calls) == 1 and slept.sleeps == []


async def test_an_unknown_error_is_not_retried(slept):
    call, calls = failing(KeyError("bug"))
    with pytest.raises(KeyError):
        await call_with_retries(call, timeout=None, retries=3, backoff=0.1, backoff_max=5.0)
    assert len(calls) == 1


async def test_retries_run_out(slept):
    call, calls = failing(*[LLMError("HTTP 503", transient=True, status=503)] * 5)
    with pytest.raises(LLMError):
        await call_with_retries(call, timeout=None, retries=2, backoff=0.1, backoff_max=5.0)
    assert len(calls) == 3 and len(slept.sleeps) == 2


async def test_a_timeout_becomes_a_transient_call_timeout():
    async def hang() -> str:
        await asyncio.sleep(10)
        return "never"

    with pytest.raises(CallTimeout) as info:
        await call_with_retries(hang, timeout=0.05, retries=0, backoff=0.0, backoff_max=0.0)
    assert info.value.transient and "0.05s" in str(info.value)
