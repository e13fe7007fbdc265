"""Agent folders and run threads in Open WebUI, and the read-only markers (see docs/bundle.md)."""

from .backend import ChatBackend, MemoryChats
from .model import (
    AGENT_MODEL_PREFIX,
    AGENT_TYPE,
    META_KEY,
    REPORT_KEY,
    AgentThreadInfo,
    ChatRecord,
    FolderRecord,
    ThreadRef,
    agent_model_id,
    folder_meta,
    task_of_model,
    thread_title,
)
from .openwebui import OpenWebUIChats
from .report import Change, Finding, ThreadReport, render_diff, render_report
from .writer import ThreadWriter, report_chat_json

__all__ = [
    "AGENT_MODEL_PREFIX",
    "AGENT_TYPE",
    "META_KEY",
    "REPORT_KEY",
    "AgentThreadInfo",
    "Change",
    "ChatBackend",
    "ChatRecord",
    "Finding",
    "FolderRecord",
    "MemoryChats",
    "OpenWebUIChats",
    "ThreadRef",
    "ThreadReport",
    "ThreadWriter",
    "agent_model_id",
    "folder_meta",
    "render_diff",
    "render_report",
    "report_chat_json",
    "task_of_model",
    "thread_title",
]
