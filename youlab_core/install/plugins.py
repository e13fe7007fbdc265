"""The plugin files (`plugins/<function id>.py`) and their front matter, read the way Open WebUI reads it.

Open WebUI takes front matter only from a file whose first line is exactly `\"\"\"`: every `key: value` line up to
the closing quotes. The installer uses `title` as the function's name and `description` as its description.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from ..errors import YoulabError
from ..openwebui.internals import stored_plugin_content

# Function ids in install order: the Actions first, so the agent and view model records can name them in actionIds.
PLUGIN_IDS = ("youlab_review", "youlab_memory", "youlab_dashboard", "youlab_agents", "youlab_filter")

_LINE = re.compile(r"^\s*([A-Za-z_]+):\s*(.*?)\s*$")


class PluginError(YoulabError):
    """A plugin file that cannot be installed (the message names the file)."""


def parse_front_matter(content: str) -> dict[str, str]:
    """`key: value` pairs of the leading docstring ({} when the file does not start with a line `\"\"\"`)."""
    lines = content.splitlines()
    if not lines or lines[0].strip() != '"""':
        return {}
    found: dict[str, str] = {}
    for line in lines[1:]:
        if '"""' in line:
            break
        match = _LINE.match(line)
        if match:
            found[match.group(1).strip()] = match.group(2).strip()
    return found


@dataclass(frozen=True)
class PluginFile:
    id: str
    path: Path
    content: str
    front_matter: dict[str, str]

    @property
    def name(self) -> str:
        return self.front_matter.get("title") or self.id

    @property
    def description(self) -> str:
        return self.front_matter.get("description", "")


def default_plugins_dir() -> Path:
    """`plugins/` next to the package in a checkout (editable install), else `./plugins`."""
    here = Path(__file__).resolve().parents[2] / "plugins"
    return here if here.is_dir() else Path("plugins")


def load_plugins(plugins_dir: Path | None = None) -> list[PluginFile]:
    """The plugin files present, in install order. A file without front matter or a title is refused."""
    directory = Path(plugins_dir) if plugins_dir else default_plugins_dir()
    if not directory.is_dir():
        raise PluginError(f"{directory}: no plugins directory (pass --plugins-dir)")
    plugins: list[PluginFile] = []
    for function_id in PLUGIN_IDS:
        path = directory / f"{function_id}.py"
        if not path.is_file():
            continue
        content = path.read_text(encoding="utf-8")
        front = parse_front_matter(content)
        if not front:
            raise PluginError(f"{path}: line 1 must be exactly \"\"\" followed by `key: value` front matter")
        if not front.get("title"):
            raise PluginError(f"{path}: the front matter has no `title:` line")
        plugins.append(PluginFile(function_id, path, content, front))
    return plugins


def stored_content(content: str) -> str:
    """The content as Open WebUI stores it (it rewrites four legacy import prefixes on create and update)."""
    return stored_plugin_content(content)
