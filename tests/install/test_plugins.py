from pathlib import Path

import pytest

from youlab_core.install.plugins import PLUGIN_IDS, PluginError, load_plugins, parse_front_matter, stored_content

FRONT = '''"""
title: YouLab Filter
author: YouLab
version: 0.1.0
description: Counts activity: and guards threads
requirements: youlab-core
"""

class Filter:
    """not: front matter"""
'''


def test_front_matter_read_like_openwebui() -> None:
    front = parse_front_matter(FRONT)
    assert front == {
        "title": "YouLab Filter",
        "author": "YouLab",
        "version": "0.1.0",
        "description": "Counts activity: and guards threads",
        "requirements": "youlab-core",
    }


@pytest.mark.parametrize("content", ["", "# comment\n" + FRONT, '  """x\ntitle: a\n"""', "'''\ntitle: a\n'''"])
def test_no_front_matter_unless_line_one_is_triple_quotes(content: str) -> None:
    assert parse_front_matter(content) == {}


def test_load_plugins_in_install_order_and_only_those_present(tmp_path: Path) -> None:
    (tmp_path / "youlab_filter.py").write_text(FRONT)
    (tmp_path / "youlab_review.py").write_text(FRONT.replace("YouLab Filter", "YouLab Review"))
    (tmp_path / "other.py").write_text(FRONT)
    plugins = load_plugins(tmp_path)
    assert [p.id for p in plugins] == ["youlab_review", "youlab_filter"]
    assert plugins[0].name == "YouLab Review"
    assert plugins[1].description == "Counts activity: and guards threads"


def test_a_plugin_without_front_matter_is_refused_naming_the_file(tmp_path: Path) -> None:
    (tmp_path / "youlab_agents.py").write_text("class Pipe: pass\n")
    with pytest.raises(PluginError, match="youlab_agents.py"):
        load_plugins(tmp_path)


def test_a_plugin_without_title_is_refused(tmp_path: Path) -> None:
    (tmp_path / "youlab_agents.py").write_text('"""\ndescription: x\n"""\n')
    with pytest.raises(PluginError, match="title"):
        load_plugins(tmp_path)


def test_missing_plugins_dir_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(PluginError, match="--plugins-dir"):
        load_plugins(tmp_path / "nope")


def test_shipped_plugins_parse() -> None:
    # Whatever plugin files the checkout has must carry front matter with a title and a description.
    for plugin in load_plugins():
        assert plugin.id in PLUGIN_IDS
        assert plugin.front_matter.get("title")
        assert plugin.front_matter.get("description")


def test_stored_content_matches_openwebuis_import_rewrite() -> None:
    assert stored_content("from utils.x import y\nfrom youlab_core.config import z") == (
        "from open_webui.utils.x import y\nfrom youlab_core.config import z"
    )
