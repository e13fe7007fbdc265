from pathlib import Path

from youlab_core.launch.datadir import AdminLogin
from youlab_core.launch.env import openwebui_env, redacted
from youlab_core.launch.provider import demo_provider, provider_from_env

ADMIN = AdminLogin("admin@localhost", "pw", "Admin", True)


def _env(base: dict[str, str], provider=None) -> dict[str, str]:
    return openwebui_env(
        base,
        data_dir=Path("/d"),
        secret_key="k",
        admin=ADMIN,
        provider=provider or demo_provider("http://127.0.0.1:9/v1"),
        config_dir=Path("/c"),
    )


def test_offline_friendly_defaults() -> None:
    env = _env({"PATH": "/bin"})
    assert env["PATH"] == "/bin"
    assert env["OFFLINE_MODE"] == "true"
    assert env["RAG_EMBEDDING_ENGINE"] == "openai"
    assert env["ENABLE_API_KEYS"] == "true"
    assert env["ENABLE_OLLAMA_API"] == "false"
    assert env["ENABLE_PIP_INSTALL_FRONTMATTER_REQUIREMENTS"] == "false"
    assert env["DATA_DIR"] == "/d" and env["WEBUI_SECRET_KEY"] == "k"
    assert (env["WEBUI_ADMIN_EMAIL"], env["WEBUI_ADMIN_PASSWORD"]) == ("admin@localhost", "pw")
    assert env["YOULAB_STORAGE_ROOT"] == "/d/youlab" and env["YOULAB_CONFIG_DIR"] == "/c"
    # Each server gets its own static folder: Open WebUI empties and refills it at every start.
    assert env["STATIC_DIR"] == "/d/static"


def test_demo_model_is_the_openai_connection() -> None:
    env = _env({})
    assert env["ENABLE_OPENAI_API"] == "true"
    assert env["OPENAI_API_BASE_URLS"] == "http://127.0.0.1:9/v1"


def test_operator_choices_win_over_defaults() -> None:
    assert _env({"GLOBAL_LOG_LEVEL": "DEBUG", "OFFLINE_MODE": "false"})["OFFLINE_MODE"] == "false"


def test_provider_from_env() -> None:
    assert provider_from_env({}).kind == "demo"
    openai = provider_from_env({"OPENAI_API_BASE_URL": "http://x/v1", "OPENAI_API_KEY": "sk"})
    assert (openai.kind, openai.openai_urls, openai.openai_keys) == ("openai", ["http://x/v1"], ["sk"])
    assert provider_from_env({"OPENAI_API_KEY": "sk"}).openai_urls == ["https://api.openai.com/v1"]
    several = provider_from_env({"OPENAI_API_BASE_URLS": "http://a;http://b", "OPENAI_API_KEYS": "k1"})
    assert several.openai_keys == ["k1", ""]
    ollama = provider_from_env({"OLLAMA_BASE_URL": "http://127.0.0.1:11434"})
    assert (ollama.kind, ollama.ollama_urls) == ("ollama", ["http://127.0.0.1:11434"])


def test_ollama_provider_env_and_singular_vars_replaced() -> None:
    env = _env({"OLLAMA_BASE_URL": "http://o", "OPENAI_API_KEY": "sk-old"},
               provider_from_env({"OLLAMA_BASE_URL": "http://o"}))
    assert env["ENABLE_OLLAMA_API"] == "true" and env["OLLAMA_BASE_URLS"] == "http://o"
    assert env["ENABLE_OPENAI_API"] == "false"
    assert "OPENAI_API_KEY" not in env and "OLLAMA_BASE_URL" not in env


def test_redacted_masks_secrets() -> None:
    env = redacted(_env({}))
    assert env["WEBUI_SECRET_KEY"] == "***" and env["WEBUI_ADMIN_PASSWORD"] == "***"
    assert env["DATA_DIR"] == "/d"


def test_new_chats_default_to_the_course_tutor() -> None:
    root = Path(__file__).resolve().parents[2]
    env = openwebui_env({}, data_dir=Path("/d"), secret_key="k", admin=ADMIN,
                        provider=demo_provider("http://127.0.0.1:9/v1"), config_dir=root / "config")
    assert env["DEFAULT_MODELS"] == "college-essay-tutor"
    assert "DEFAULT_MODELS" not in _env({})  # no courses in /c: Open WebUI's own default


def test_with_several_courses_a_new_chat_starts_with_one_tutor(tmp_path: Path) -> None:
    from tests.support.courses import course_toml, write_course

    for course_id, tutor in (("b-course", "b-tutor"), ("a-course", "a-tutor")):
        write_course(tmp_path / "config", course_toml(course_id, models=[tutor]), folder=course_id)
    env = openwebui_env({}, data_dir=Path("/d"), secret_key="k", admin=ADMIN,
                        provider=demo_provider("http://127.0.0.1:9/v1"), config_dir=tmp_path / "config")
    assert env["DEFAULT_MODELS"] == "a-tutor"  # one tutor (the first course by id), not "a-tutor,b-tutor"
