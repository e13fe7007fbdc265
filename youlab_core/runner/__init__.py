"""Runs background agents: claimed students -> dialectic answers -> proposed memory changes -> reports."""

from .build import build_runner, make_handler
from .report import ProposedChange, QueryReport, RunReport, StudentReport, render_student, summary_table
from .retry import CallTimeout, backoff_delay, call_with_retries, is_transient
from .runner import Progress, Runner, ThreadWriter

__all__ = [
    "CallTimeout",
    "Progress",
    "ProposedChange",
    "QueryReport",
    "RunReport",
    "Runner",
    "StudentReport",
    "ThreadWriter",
    "backoff_delay",
    "build_runner",
    "call_with_retries",
    "is_transient",
    "make_handler",
    "render_student",
    "summary_table",
]
