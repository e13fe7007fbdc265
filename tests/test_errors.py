"""The error tree (youlab_core.errors) and the one transient rule (youlab_core.transient), with real exception
objects of httpx, honcho-ai and letta-client."""

from __future__ import annotations

import asyncio
import errno
import importlib
import inspect
import pkgutil
import socket
import subprocess
import sys

import honcho
import httpx
import letta_client
import pytest

import youlab_core
from youlab_core.bundle.filter import ReadOnlyThread
from youlab_core.bundle.review import ReviewError
from youlab_core.dialectic import DialecticError
from youlab_core.errors import (
    ConfigError,
    ConfigIssue,
    InvalidUserId,
    ManualRunRefused,
    NotFound,
    PermissionDenied,
    ProposalRefused,
    StaleDiff,
    UserFacingError,
    YoulabError,
    user_message,
)
from youlab_core.letta import LettaSyncError
from youlab_core.llm import LLMError
from youlab_core.memory import DiffClosed
from youlab_core.openwebui import OpenWebUIError
from youlab_core.runner import CallTimeout
from youlab_core.transient import is_transient, parse_retry_after, retry_after_of, transient_status

# Exceptions the library defines outside the tree on purpose, each with the reason.
OUTSIDE_THE_TREE = {
    "youlab_core.demo_model.http.HTTPError",  # the demo server's own HTTP answer, never leaves that server
    "youlab_core.scheduler.work.UserRunsFailed",  # being removed: the runner will return per-student outcomes
}


def _library_exceptions() -> list[type[BaseException]]:
    found = []
    for info in pkgutil.walk_packages(youlab_core.__path__, "youlab_core."):
        if info.name.endswith("__main__"):
            continue  # runs the command line when imported
        module = importlib.import_module(info.name)
        for _, obj in inspect.getmembers(module, inspect.isclass):
            # Exception, not BaseException: signal and cancellation classes (KeyboardInterrupt's) are control flow.
            if issubclass(obj, Exception) and obj.__module__ == info.name:
                found.append(obj)
    return found


def test_every_exception_the_library_defines_is_a_youlab_error():
    classes = _library_exceptions()
    assert len(classes) > 10  # the walk found the library's modules
    outside = {f"{c.__module__}.{c.__qualname__}" for c in classes if not issubclass(c, YoulabError)}
    assert outside <= OUTSIDE_THE_TREE, f"not under YoulabError: {sorted(outside - OUTSIDE_THE_TREE)}"


@pytest.mark.parametrize("cls", [ConfigError, InvalidUserId, NotFound, PermissionDenied, ProposalRefused, StaleDiff,
                                 ManualRunRefused, ReviewError, DiffClosed, ReadOnlyThread])
def test_errors_people_are_shown_are_user_facing(cls):
    assert issubclass(cls, UserFacingError) and issubclass(cls, YoulabError)


@pytest.mark.parametrize("cls", [LLMError, DialecticError, OpenWebUIError, LettaSyncError, CallTimeout])
def test_service_errors_are_youlab_errors_but_not_shown_as_they_are(cls):
    assert issubclass(cls, YoulabError) and not issubclass(cls, UserFacingError)


def test_the_package_exports_the_base_classes():
    assert youlab_core.YoulabError is YoulabError and youlab_core.UserFacingError is UserFacingError


def test_transient_is_a_class_default_an_instance_may_override():
    assert YoulabError.transient is False and YoulabError("x").transient is False
    assert YoulabError("x", transient=True).transient is True
    assert NotFound("no course 'x'").transient is False
    assert CallTimeout("no answer within 5s").transient is True
    assert LLMError("HTTP 503", transient=True, status=503).transient is True
    assert LLMError("HTTP 400", status=400).transient is False
    assert LettaSyncError("down", transient=True).transient is True
    assert YoulabError("x", retry_after=2.5).retry_after == 2.5 and YoulabError("x").retry_after is None


def test_config_error_keeps_every_issue_in_its_text():
    err = ConfigError([ConfigIssue("essay/course.toml", "task.x.schedule", "not a cron expression"),
                       ConfigIssue("settings", "", "missing")])
    assert str(err) == "essay/course.toml: task.x.schedule: not a cron expression\nsettings: missing"
    assert len(err.issues) == 2 and not err.transient


@pytest.mark.parametrize(("status", "transient"), [(0, True), (408, True), (409, True), (425, True), (429, True),
                                                   (500, True), (503, True), (400, False), (401, False),
                                                   (404, False), (422, False)])
def test_open_webui_errors_are_transient_by_status(status, transient):
    err = OpenWebUIError("GET", "/api/v1/chats/x", status, "detail")
    assert err.transient is transient and is_transient(err) is transient


def test_user_message_shows_only_user_facing_text():
    assert user_message(StaleDiff("the field changed after this was proposed"), "sorry") == (
        "the field changed after this was proposed")
    assert user_message(RuntimeError("/srv/youlab/users/x: git index.lock"), "sorry") == "sorry"
    assert user_message(LLMError("LLM call to http://10.0.0.3/v1 failed"), "sorry") == "sorry"


# ---- the transient rule --------------------------------------------------------------------------------------

REQUEST = httpx.Request("POST", "http://llm.test/v1/chat/completions")


def _response(status: int, **headers: str) -> httpx.Response:
    return httpx.Response(status, headers=headers, request=REQUEST)


@pytest.mark.parametrize("status", [408, 409, 425, 429, 500, 502, 503, 504, 0])
def test_transient_statuses(status):
    assert transient_status(status)


@pytest.mark.parametrize("status", [None, 200, 400, 401, 403, 404, 422])
def test_other_statuses_are_not_transient(status):
    assert not transient_status(status)


@pytest.mark.parametrize("exc", [
    httpx.ConnectError("refused", request=REQUEST),
    httpx.ReadTimeout("slow", request=REQUEST),
    httpx.PoolTimeout("pool", request=REQUEST),
    httpx.ReadError("reset", request=REQUEST),
    httpx.RemoteProtocolError("server disconnected without sending a response", request=REQUEST),
    httpx.HTTPStatusError("503", request=REQUEST, response=_response(503)),
    httpx.HTTPStatusError("429", request=REQUEST, response=_response(429)),
    httpx.HTTPStatusError("408", request=REQUEST, response=_response(408)),
], ids=lambda e: type(e).__name__)
def test_httpx_outages_are_transient(exc):
    assert is_transient(exc)


@pytest.mark.parametrize("exc", [
    httpx.UnsupportedProtocol("ftp is not http", request=REQUEST),
    httpx.LocalProtocolError("bad header"),
    httpx.TooManyRedirects("loop", request=REQUEST),
    httpx.HTTPStatusError("400", request=REQUEST, response=_response(400)),
    httpx.HTTPStatusError("404", request=REQUEST, response=_response(404)),
], ids=lambda e: type(e).__name__)
def test_httpx_refusals_are_not_transient(exc):
    assert not is_transient(exc) and not is_transient(exc, unknown=True)


@pytest.mark.parametrize("exc", [
    honcho.RateLimitError(retry_after=2.0),
    honcho.ServerError(status=502),
    honcho.TimeoutError(),
    honcho.ConnectionError(),
    honcho.ConflictError(),  # 409: a concurrent write
    honcho.APIError("too early", status=425),
], ids=lambda e: f"{type(e).__name__}-{e.status}")
def test_honcho_outages_are_transient(exc):
    assert is_transient(exc)


@pytest.mark.parametrize("exc", [
    honcho.NotFoundError(),
    honcho.BadRequestError(),
    honcho.AuthenticationError(),
    honcho.PermissionDeniedError(),
    honcho.UnprocessableEntityError(),
    honcho.HonchoError("the SDK refused the call"),  # status 0 here is not "unreachable"
], ids=lambda e: type(e).__name__)
def test_honcho_refusals_are_not_transient(exc):
    assert not is_transient(exc) and not is_transient(exc, unknown=True)


def _letta_status(cls: type, status: int, **headers: str) -> letta_client.APIStatusError:
    return cls(f"HTTP {status}", response=_response(status, **headers), body=None)


@pytest.mark.parametrize("exc", [
    letta_client.APIConnectionError(request=REQUEST),
    letta_client.APITimeoutError(request=REQUEST),
    _letta_status(letta_client.RateLimitError, 429),
    _letta_status(letta_client.InternalServerError, 503),
    _letta_status(letta_client.APIStatusError, 408),
], ids=lambda e: type(e).__name__)
def test_letta_outages_are_transient(exc):
    assert is_transient(exc)


@pytest.mark.parametrize("exc", [
    _letta_status(letta_client.NotFoundError, 404),
    _letta_status(letta_client.BadRequestError, 400),
    _letta_status(letta_client.AuthenticationError, 401),
    letta_client.LettaError("client misconfigured"),
], ids=lambda e: type(e).__name__)
def test_letta_refusals_are_not_transient(exc):
    assert not is_transient(exc) and not is_transient(exc, unknown=True)


@pytest.mark.parametrize("exc", [
    ConnectionRefusedError(errno.ECONNREFUSED, "refused"),
    ConnectionResetError(errno.ECONNRESET, "reset"),
    BrokenPipeError(errno.EPIPE, "broken pipe"),
    TimeoutError("timed out"),
    asyncio.TimeoutError(),
    OSError(errno.ENETUNREACH, "network is unreachable"),
    OSError(errno.EHOSTUNREACH, "no route to host"),
    socket.gaierror(socket.EAI_AGAIN, "temporary failure in name resolution"),
], ids=lambda e: f"{type(e).__name__}-{e.errno}")
def test_network_os_errors_are_transient(exc):
    assert is_transient(exc)


@pytest.mark.parametrize("exc", [
    FileNotFoundError(errno.ENOENT, "no such file"),
    PermissionError(errno.EACCES, "denied"),
    OSError(errno.ENOSPC, "no space left on device"),
    socket.gaierror(socket.EAI_NONAME, "name or service not known"),
], ids=lambda e: f"{type(e).__name__}-{e.errno}")
def test_other_os_errors_are_not_transient(exc):
    assert not is_transient(exc) and not is_transient(exc, unknown=True)


def test_our_own_errors_answer_for_themselves_whatever_unknown_says():
    assert is_transient(LLMError("HTTP 503", transient=True))
    assert not is_transient(LLMError("HTTP 400"), unknown=True)
    assert not is_transient(NotFound("no course 'x'"), unknown=True)
    assert is_transient(CallTimeout("no answer within 1s"))


def test_unknown_exceptions_get_the_callers_answer():
    for exc in (ValueError("bug"), KeyError("x"), RuntimeError("?")):
        assert is_transient(exc) is False
        assert is_transient(exc, unknown=True) is True


def test_retry_after_from_every_kind_of_error():
    assert retry_after_of(LLMError("429", transient=True, retry_after=3.0)) == 3.0
    assert retry_after_of(honcho.RateLimitError(retry_after=2.0)) == 2.0
    too_many = _response(429, **{"retry-after": "7"})
    assert retry_after_of(httpx.HTTPStatusError("429", request=REQUEST, response=too_many)) == 7.0
    assert retry_after_of(_letta_status(letta_client.RateLimitError, 429, **{"retry-after": "4"})) == 4.0
    assert retry_after_of(honcho.ServerError()) is None and retry_after_of(ValueError()) is None


def test_parse_retry_after():
    assert parse_retry_after("5") == 5.0 and parse_retry_after("-3") == 0.0
    assert parse_retry_after(None) is None and parse_retry_after("soon") is None
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0  # a date in the past: no wait
    assert 50 < parse_retry_after("Fri, 01 Jan 2100 00:00:00 GMT")


def test_the_rule_imports_neither_honcho_nor_letta():
    """Each takes about a second to import; processes that never use them must not pay for it."""
    code = ("import sys; from youlab_core.transient import is_transient; "
            "assert is_transient(ValueError(), unknown=True) and not is_transient(OSError(2, 'x')); "
            "print(sorted(m for m in ('honcho', 'letta_client') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
