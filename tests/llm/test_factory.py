import pytest

from youlab_core.errors import ConfigError
from youlab_core.llm import OpenAICompatibleLLM, OpenWebUILLM, make_llm
from youlab_core.settings import Settings


def test_outside_openwebui_builds_the_http_client(demo_model):
    settings = Settings(llm_base_url=demo_model.base_url, llm_api_key="k", llm_model="youlab-demo",
                        call_timeout_seconds=7)
    llm = make_llm(settings)
    assert isinstance(llm, OpenAICompatibleLLM)
    assert llm.base_url == demo_model.base_url and llm.model == "youlab-demo" and llm.timeout == 7


def test_missing_settings_are_named():
    with pytest.raises(ConfigError) as info:
        make_llm(Settings(llm_base_url="", llm_model=""))
    keys = {issue.key for issue in info.value.issues}
    assert keys == {"llm_model", "llm_base_url"}


def test_inside_openwebui_builds_the_in_process_llm_without_importing_it():
    import sys

    llm = make_llm(Settings(llm_model="gpt-4o"), inside_openwebui=True, user_id="u1")
    assert isinstance(llm, OpenWebUILLM) and llm.model_id == "gpt-4o" and llm.user_id == "u1"
    assert "open_webui.main" not in sys.modules
    with pytest.raises(ConfigError, match="user_id"):
        make_llm(Settings(llm_model="gpt-4o"), inside_openwebui=True)
