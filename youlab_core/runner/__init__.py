"""Runs background agents: claimed students -> dialectic answers -> proposed memory changes -> reports."""

from .build import build_runner, make_handler
from .report import ProposedChange, QueryReport, StudentReport, TaskRunReport, render_student, summary_table
from .retry import CallTimeout, backoff_delay, call_with_retries, is_transient
from .runner import ClaimedBatch, Progress, ReportWriter, Runner
from .student import StudentRunTools

__all__ = [
    "CallTimeout",
    "ClaimedBatch",
    "Progress",
    "ReportWriter",
    "ProposedChange",
    "QueryReport",
    "Runner",
    "StudentReport",
    "StudentRunTools",
    "TaskRunReport",
    "backoff_delay",
    "build_runner",
    "call_with_retries",
    "is_transient",
    "make_handler",
    "render_student",
    "summary_table",
]
