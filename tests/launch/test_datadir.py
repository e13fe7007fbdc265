import json
import stat
from pathlib import Path

import pytest

from youlab_core.errors import YoulabError
from youlab_core.launch.datadir import ADMIN_FILE, DEFAULT_ADMIN_EMAIL, DataDir


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_secret_key_generated_once_private(tmp_path: Path) -> None:
    data = DataDir(tmp_path / "d").ensure()
    key = data.secret_key()
    assert len(key) >= 32
    assert data.secret_key() == key
    assert DataDir(tmp_path / "d").secret_key() == key
    assert _mode(tmp_path / "d" / ".webui_secret_key") == 0o600


def test_generated_admin_password_is_kept_and_reused(tmp_path: Path) -> None:
    data = DataDir(tmp_path).ensure()
    first = data.admin_login({})
    assert first.email == DEFAULT_ADMIN_EMAIL and first.generated and len(first.password) >= 12
    assert _mode(tmp_path / ADMIN_FILE) == 0o600
    second = DataDir(tmp_path).admin_login({})
    assert second == first


def test_admin_from_env_is_used_and_its_password_not_written(tmp_path: Path) -> None:
    data = DataDir(tmp_path).ensure()
    login = data.admin_login({"YOULAB_ADMIN_EMAIL": "t@example.org", "YOULAB_ADMIN_PASSWORD": "s3cret-pw"})
    assert (login.email, login.password, login.generated) == ("t@example.org", "s3cret-pw", False)
    stored = (tmp_path / ADMIN_FILE).read_text()
    assert "s3cret-pw" not in stored
    assert json.loads(stored)["email"] == "t@example.org"
    # Later without the password: a clear error, not a new password that would not work.
    with pytest.raises(YoulabError, match="YOULAB_ADMIN_PASSWORD"):
        data.admin_login({})
    assert data.admin_login({"YOULAB_ADMIN_PASSWORD": "s3cret-pw"}).email == "t@example.org"


def test_env_password_overrides_a_generated_one(tmp_path: Path) -> None:
    data = DataDir(tmp_path).ensure()
    data.admin_login({})
    login = data.admin_login({"YOULAB_ADMIN_PASSWORD": "given-pw"})
    assert login.password == "given-pw" and not login.generated


def test_broken_admin_file_is_named(tmp_path: Path) -> None:
    (tmp_path / ADMIN_FILE).write_text("{nope")
    with pytest.raises(YoulabError, match=ADMIN_FILE):
        DataDir(tmp_path).admin_login({})


def test_launch_state_round_trip_private(tmp_path: Path) -> None:
    data = DataDir(tmp_path).ensure()
    assert data.launch_state() == {}
    data.save_launch_state({"demo_port": 1234})
    assert data.launch_state() == {"demo_port": 1234}
    assert _mode(tmp_path / "youlab-launch.json") == 0o600
