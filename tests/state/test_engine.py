from pathlib import Path

import pytest
from sqlalchemy import text

from youlab_core.errors import ConfigError
from youlab_core.settings import Settings
from youlab_core.state import make_engines, open_store


def test_sqlite_uses_wal_and_a_busy_timeout(tmp_path: Path) -> None:
    engines = make_engines(f"sqlite:///{tmp_path / 'x' / 'state.db'}")  # parent folders are created
    with engines.read.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA busy_timeout")).scalar() == 30000
    engines.dispose()


def test_default_database_is_state_db_under_the_storage_root(tmp_path: Path) -> None:
    settings = Settings(storage_root=tmp_path / "root")
    store = open_store(settings)
    store.close()
    assert (tmp_path / "root" / "state.db").is_file()


def test_unsupported_backend_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="state_url: unsupported database 'mysql'"):
        make_engines("mysql://u:p@localhost/db")


def test_bad_url_does_not_echo_a_password() -> None:
    with pytest.raises(ConfigError) as err:
        make_engines("postgresql+psycopg://admin:s3cret@[::1")
    assert "s3cret" not in str(err.value)
