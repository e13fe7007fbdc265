"""`youlab patch apply|revert|status` on a private copy of the installed Open WebUI."""

from __future__ import annotations

from pathlib import Path

from youlab_core.cli import main

from .conftest import copy_open_webui, snapshot


def test_status_apply_revert_round_trip(package: Path, capsys) -> None:
    before = snapshot(package)
    assert main(["patch", "status", "--open-webui-dir", str(package)]) == 1
    assert capsys.readouterr().out.startswith("not applied:")
    assert main(["patch", "apply", "--open-webui-dir", str(package)]) == 0
    assert capsys.readouterr().out.startswith("applied:")
    assert main(["patch", "status", "--open-webui-dir", str(package)]) == 0
    assert main(["patch", "revert", "--open-webui-dir", str(package)]) == 0
    assert "not applied" in capsys.readouterr().out
    assert snapshot(package) == before


def test_unsupported_version_exits_2_with_the_reason(tmp_path: Path, capsys) -> None:
    package = copy_open_webui(tmp_path, version="0.11.0")
    assert main(["patch", "apply", "--open-webui-dir", str(package)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: Open WebUI 0.11.0") and "0.12.4" in err


def test_static_dir_defaults_to_the_environment(tmp_path: Path, package: Path, monkeypatch, capsys) -> None:
    import shutil

    live = tmp_path / "live"
    shutil.copytree(package / "frontend" / "static", live)
    monkeypatch.setenv("STATIC_DIR", str(live))
    assert main(["patch", "apply", "--open-webui-dir", str(package)]) == 0
    assert f"live STATIC_DIR {live}: applied" in capsys.readouterr().out


def test_a_static_dir_that_does_not_exist_yet_is_left_to_open_webui(tmp_path: Path, package: Path, monkeypatch, capsys) -> None:
    monkeypatch.setenv("STATIC_DIR", str(tmp_path / "not-created-yet"))
    assert main(["patch", "apply", "--open-webui-dir", str(package)]) == 0
    assert "live STATIC_DIR" not in capsys.readouterr().out


def test_a_conflict_in_the_environment_static_dir_is_only_a_warning(
    tmp_path: Path, package: Path, monkeypatch, capsys
) -> None:
    import shutil

    live = tmp_path / "live"
    shutil.copytree(package / "frontend" / "static", live)
    (live / "loader.js").write_text("// edited in the running server\n")
    monkeypatch.setenv("STATIC_DIR", str(live))
    assert main(["patch", "apply", "--open-webui-dir", str(package)]) == 0
    captured = capsys.readouterr()
    assert captured.out.startswith("applied:") and "warning: $STATIC_DIR not changed" in captured.err
    assert (live / "loader.js").read_text() == "// edited in the running server\n"
    # Named explicitly, the same conflict is an error.
    assert main(["patch", "apply", "--open-webui-dir", str(package), "--static-dir", str(live)]) == 2
