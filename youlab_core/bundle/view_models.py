"""The hidden YouLab models that are not course tasks: "view models" (docs/bundle.md, docs/memory-view.md).

A view is a read-only chat YouLab writes for a user (the student's memory view; later a teacher's course
dashboard). Its message needs a model of its own: Open WebUI shows an Action's buttons under the messages of the
models whose record lists it, and names the model in the message's header. So each view has a hidden model
`youlab_agents.<suffix>` under the agents Pipe, with a record like an agent's (hidden, readable by every user,
`meta.actionIds` = its buttons). The suffix holds ':', which a course task name never does (task names are slugs,
youlab_core/config/schema.py), so a view can never collide with a task; Open WebUI 0.12.4 accepts any model id
without whitespace (routers/models.py `is_valid_model_id`, as Ollama's `name:tag` ids). The same suffix is the
thread registry's task for the view's chats, so every read-only guard treats them as agent threads.

A view model is never run: its Pipe answers a message with `ViewModel.not_run` (youlab_core/bundle/agents.py).
Each listed Action checks on the server who may act in which chat; the write guard lets their requests through
(youlab_action_ids) exactly as it does the review's.

To add a view: append one `ViewModel(...)` to VIEW_MODELS (and put its plugin id in install/plugins.PLUGIN_IDS).
pipe_list, the model records (Pipe and `youlab install`), the Pipe's answer and the write guard take every entry.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..install.records import REVIEW_ACTION_ID  # approve / reject / review each: agent reports and the view
from ..threads.dashboard_view import DASHBOARD_ACTION_ID, DASHBOARD_AGENT, DASHBOARD_TASK
from ..threads.memory_view import MEMORY_TASK, VIEW_AGENT
from ..threads.model import agent_model_id, task_of_model

MEMORY_ACTION_ID = "youlab_memory"  # history / undo / edit / download: the memory view only


@dataclass(frozen=True)
class ViewModel:
    suffix: str  # "youlab:memory": the model is youlab_agents.youlab:memory, the registry's task is the suffix
    name: str  # what the message's header and the selector (for admins) show
    description: str
    action_ids: tuple[str, ...]  # the Actions its record lists: the buttons under the view's message

    @property
    def model_id(self) -> str:
        return agent_model_id(self.suffix)

    @property
    def not_run(self) -> str:
        """The Pipe's answer when someone messages the view's model (it is a view, nothing runs)."""
        return (f"\u201c{self.name}\u201d is a view YouLab writes for you, not an agent: it does not answer "
                "messages. Open it from your chat list and use the buttons under it.")


VIEW_MODELS: tuple[ViewModel, ...] = (
    ViewModel(
        suffix=MEMORY_TASK,  # "youlab:memory"
        name=VIEW_AGENT,  # "Your memory"
        description="What the tutor knows about you in a course: see each field's history, undo, edit and "
                    "download your data, and decide the changes waiting for you.",
        action_ids=(MEMORY_ACTION_ID, REVIEW_ACTION_ID),
    ),
    ViewModel(
        suffix=DASHBOARD_TASK,  # "youlab:dashboard": admins' and teachers' course dashboards (docs/dashboard.md)
        name=DASHBOARD_AGENT,  # "Course dashboard"
        description="For administrators and a course's teachers: its runs, health and students; run a task by "
                    "hand, retry a failed run, pause and resume a task.",
        action_ids=(DASHBOARD_ACTION_ID,),
    ),
)


def find_view(suffix_or_model: str | None) -> ViewModel | None:
    """The view model named by its suffix ("youlab:memory") or its model id ("youlab_agents.youlab:memory")."""
    if not suffix_or_model:
        return None
    suffix = task_of_model(suffix_or_model) or suffix_or_model
    return next((v for v in VIEW_MODELS if v.suffix == suffix), None)


def view_of(suffix: str) -> ViewModel:
    """The view model with this suffix (a programming error when there is none)."""
    found = find_view(suffix)
    if found is None:
        raise KeyError(suffix)
    return found


def youlab_action_ids() -> tuple[str, ...]:
    """Every YouLab Action id: the review's and each view's (the write guard lets these through; each checks the
    chat and the user itself)."""
    return tuple(dict.fromkeys((REVIEW_ACTION_ID, *(a for v in VIEW_MODELS for a in v.action_ids))))


__all__ = ["MEMORY_ACTION_ID", "REVIEW_ACTION_ID", "VIEW_MODELS", "ViewModel", "find_view", "view_of",
           "youlab_action_ids"]
