"""The environment check and completion before a command imports Open WebUI (youlab_core/cli/openwebui_db.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from youlab_core.cli.openwebui_db import database_configured, openwebui_package_dir, prepare
from youlab_core.errors import YoulabError


def data_dir(tmp_path: Path, *, key: str | None = None) -> Path:
    folder = tmp_path / "data"
    folder.mkdir()
    (folder / "webui.db").write_bytes(b"")
    if key is not None:
        (folder / ".webui_secret_key").write_text(key + "\n")
    return folder


def test_the_documented_environment_is_completed_for_open_webuis_import(tmp_path: Path) -> None:
    env = {"DATA_DIR": str(data_dir(tmp_path)), "WEBUI_SECRET_KEY": "k"}
    prepare("youlab run", env)
    package = openwebui_package_dir()
    assert package is not None and env["FRONTEND_BUILD_DIR"] == str(package / "frontend")
    assert (package / "frontend" / "static").is_dir()  # what Open WebUI's import copies from
    static = Path(env["STATIC_DIR"])
    assert static.is_dir() and not any(static.iterdir())  # a private, empty folder
    assert package not in static.parents and not static.is_relative_to(tmp_path / "data")
    assert env["ENABLE_DB_MIGRATIONS"] == "false"
    other: dict[str, str] = {"DATA_DIR": env["DATA_DIR"], "WEBUI_SECRET_KEY": "k"}
    prepare("youlab run", other)
    assert other["STATIC_DIR"] != env["STATIC_DIR"]  # two commands at once never share one


def test_explicit_values_win(tmp_path: Path) -> None:
    env = {"DATA_DIR": str(data_dir(tmp_path)), "WEBUI_SECRET_KEY": "k", "STATIC_DIR": "/srv/static",
           "FRONTEND_BUILD_DIR": "/srv/build", "ENABLE_DB_MIGRATIONS": "true"}
    prepare("youlab run", env)
    assert (env["STATIC_DIR"], env["FRONTEND_BUILD_DIR"], env["ENABLE_DB_MIGRATIONS"]) == (
        "/srv/static", "/srv/build", "true")


def test_the_secret_key_is_read_from_the_data_dir_when_unset(tmp_path: Path) -> None:
    env = {"DATA_DIR": str(data_dir(tmp_path, key="from-file"))}
    prepare("youlab run", env)
    assert env["WEBUI_SECRET_KEY"] == "from-file"


@pytest.mark.parametrize(("setup", "says"), [
    ({}, "needs the Open WebUI's DATA_DIR (the folder holding webui.db) or its DATABASE_URL"),
    ({"DATA_DIR": "{tmp}"}, "holds no webui.db"),
    ({"DATA_DIR": "{data}"}, "needs WEBUI_SECRET_KEY"),
])
def test_what_is_missing_is_named(tmp_path: Path, setup: dict[str, str], says: str) -> None:
    data = data_dir(tmp_path)
    env = {k: v.format(tmp=tmp_path, data=data) for k, v in setup.items()}
    with pytest.raises(YoulabError) as err:
        prepare("youlab run --openwebui-db", env)
    assert says in str(err.value) and str(err.value).startswith("youlab run --openwebui-db")
    assert "STATIC_DIR" not in env  # nothing is set when the check fails


def test_a_database_url_needs_no_data_dir(tmp_path: Path) -> None:
    env = {"DATABASE_URL": "postgresql://owui@db/owui", "WEBUI_SECRET_KEY": "k"}
    assert database_configured(env)
    prepare("youlab scheduler", env)
    assert Path(env["STATIC_DIR"]).is_dir()
    assert not database_configured({"DATA_DIR": ""})
