"""`youlab patch apply|revert|status` on a private copy of the installed Open WebUI: both parts, one line each."""

from __future__ import annotations

from pathlib import Path

import pytest

import openwebui_patches
from youlab_core.cli import main

from .conftest import copy_open_webui, snapshot


FRONT = "front-end view (youlab-readonly-threads): "
SERVER = "server write guard (youlab-write-guard): "


def _parts(out: str) -> dict[str, str]:
    """Part label -> its state, from the first line each part prints."""
    return {
        label: line[len(label) :].split(" in ", 1)[0]
        for line in out.splitlines()
        for label in (FRONT, SERVER)
        if line.startswith(label)
    }


def test_status_apply_revert_round_trip(package: Path, capsys: pytest.CaptureFixture[str]) -> None:
    before = snapshot(package)
    assert main(["patch", "status", "--open-webui-dir", str(package)]) == 1
    assert _parts(capsys.readouterr().out) == {FRONT: "not applied", SERVER: "not applied"}
    assert main(["patch", "apply", "--open-webui-dir", str(package)]) == 0
    out = capsys.readouterr().out
    assert _parts(out) == {FRONT: "applied", SERVER: "applied"}
    assert "until it restarts" in out  # main.py changed: a running server needs a restart
    assert main(["patch", "apply", "--open-webui-dir", str(package)]) == 0
    assert "until it restarts" not in capsys.readouterr().out  # nothing changed the second time
    assert main(["patch", "status", "--open-webui-dir", str(package)]) == 0
    assert main(["patch", "revert", "--open-webui-dir", str(package)]) == 0
    assert _parts(capsys.readouterr().out) == {FRONT: "not applied", SERVER: "not applied"}
    assert snapshot(package) == before


def test_a_front_end_refusal_does_not_stop_the_server_part(package: Path, capsys: pytest.CaptureFixture[str]) -> None:
    index = package / "frontend" / "index.html"
    index.write_text(index.read_text().replace("/static/loader.js", "/static/other.js"))
    assert main(["patch", "apply", "--open-webui-dir", str(package)]) == 2
    captured = capsys.readouterr()
    assert _parts(captured.out) == {SERVER: "applied"}
    assert captured.err.startswith("error: front-end view: ") and "does not load /static/loader.js" in captured.err


def test_status_is_not_applied_while_one_part_is_missing(package: Path, capsys: pytest.CaptureFixture[str]) -> None:
    openwebui_patches.apply(package)
    assert main(["patch", "status", "--open-webui-dir", str(package)]) == 1
    assert _parts(capsys.readouterr().out) == {FRONT: "applied", SERVER: "not applied"}


def test_a_conflict_in_one_part_does_not_stop_the_other(package: Path, capsys: pytest.CaptureFixture[str]) -> None:
    main_py = package / "main.py"
    openwebui_patches.server.apply(package)
    main_py.write_bytes(main_py.read_bytes() + b"# edited\n")
    assert main(["patch", "apply", "--open-webui-dir", str(package)]) == 2
    captured = capsys.readouterr()
    assert _parts(captured.out) == {FRONT: "applied"}
    assert captured.err.startswith("error: server write guard: ") and "main.py changed" in captured.err
    assert main(["patch", "apply", "--force", "--open-webui-dir", str(package)]) == 0
    assert _parts(capsys.readouterr().out) == {FRONT: "applied", SERVER: "applied"}


def test_unsupported_version_exits_2_with_the_reason(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    package = copy_open_webui(tmp_path, version="0.11.0")
    assert main(["patch", "apply", "--open-webui-dir", str(package)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: Open WebUI 0.11.0") and "0.12.4" in err
    assert err.count("0.11.0") == 1  # about the whole installation: said once, not per part


def test_static_dir_defaults_to_the_environment(
    tmp_path: Path, package: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import shutil

    live = tmp_path / "live"
    shutil.copytree(package / "frontend" / "static", live)
    monkeypatch.setenv("STATIC_DIR", str(live))
    assert main(["patch", "apply", "--open-webui-dir", str(package)]) == 0
    assert f"live STATIC_DIR {live}: applied" in capsys.readouterr().out


def test_a_static_dir_that_does_not_exist_yet_is_left_to_open_webui(
    tmp_path: Path, package: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("STATIC_DIR", str(tmp_path / "not-created-yet"))
    assert main(["patch", "apply", "--open-webui-dir", str(package)]) == 0
    assert "live STATIC_DIR" not in capsys.readouterr().out


def test_a_conflict_in_the_environment_static_dir_is_only_a_warning(
    tmp_path: Path, package: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import shutil

    live = tmp_path / "live"
    shutil.copytree(package / "frontend" / "static", live)
    (live / "loader.js").write_text("// edited in the running server\n")
    monkeypatch.setenv("STATIC_DIR", str(live))
    assert main(["patch", "apply", "--open-webui-dir", str(package)]) == 0
    captured = capsys.readouterr()
    assert _parts(captured.out)[FRONT] == "applied" and "warning: $STATIC_DIR not changed" in captured.err
    assert (live / "loader.js").read_text() == "// edited in the running server\n"
    # Named explicitly, the same conflict is an error.
    assert main(["patch", "apply", "--open-webui-dir", str(package), "--static-dir", str(live)]) == 2
