"""ComfyUI's paid API nodes (comfy_api_nodes), on the OpenAI GPT Image 1 template: the analysis and the
models step say so, the README warns of the cost, and publishing creates the Space with the Comfy API key
as its API_KEY_COMFY_ORG secret (the fake Hub over HTTP), never in a file or in the output."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from runtime.comfy_api import COMFY_API_KEY_SECRET, api_key_extra_data
from tests.fakehub import client_env
from tests.wizard_cli import run_wizard
from wizard import session as sessions
from wizard.errors import WizardError
from wizard.ui.views import models_markdown

TEMPLATES = pytest.importorskip(
    "comfyui_workflow_templates", reason="comfyui-workflow-templates is not installed"
)
OPENAI = Path(TEMPLATES.__file__).parent / "templates" / "api_openai_image_1_t2i.json"
SDXL = OPENAI.with_name("sdxl_simple_example.json")
COMFY_KEY = "comfyui-0123456789abcdef-test-key"


@pytest.fixture(scope="module")
def openai():
    return sessions.open_workflow(OPENAI.read_bytes(), OPENAI.name)


def test_the_secret_is_the_one_comfyui_reads():
    # ComfyUI fills the hidden API_KEY_COMFY_ORG input from extra_data (execution.py:199-200)
    assert COMFY_API_KEY_SECRET == "API_KEY_COMFY_ORG"
    assert api_key_extra_data() == {}
    os.environ[COMFY_API_KEY_SECRET] = COMFY_KEY
    try:
        assert api_key_extra_data() == {"api_key_comfy_org": COMFY_KEY}
    finally:
        del os.environ[COMFY_API_KEY_SECRET]


def test_the_analysis_and_the_models_step_name_the_paid_nodes(openai):
    assert openai.analysis.api_nodes == ("OpenAIGPTImage1",) == openai.spec.api_nodes
    [warning] = [w for w in openai.analysis.warnings if "paid API nodes" in w]
    assert "costs credits" in warning and COMFY_API_KEY_SECRET in warning
    assert "**Paid API nodes** (OpenAIGPTImage1)" in models_markdown(openai)
    core = sessions.open_workflow(SDXL.read_bytes(), SDXL.name)
    assert core.analysis.api_nodes == () and "Paid" not in models_markdown(core)


def test_the_readme_warns_of_the_cost_and_names_the_secret(openai, tmp_path):
    folder = sessions.build(openai, tmp_path / "app")
    readme = (folder / "README.md").read_text()
    assert "## Paid API nodes" in readme and "**costs credits per call**" in readme
    assert "API\\_KEY\\_COMFY\\_ORG secret" in readme
    assert '"api_nodes": [\n    "OpenAIGPTImage1"\n  ]' in (folder / "appspec.json").read_text()


def test_the_page_asks_for_the_key_before_publishing(openai, tmp_path):
    with pytest.raises(WizardError, match="enter your Comfy API key"):
        sessions.publish_space(
            openai, tmp_path, name="gpt-image", private=False, hf_token_secret=None, token="hf_alicetoken"
        )


def test_publish_creates_the_space_with_the_key_as_a_secret(openai, fake_hub, tmp_path):
    folder = sessions.build(openai, tmp_path / "app")
    env = client_env(fake_hub.url, tmp_path / "hf_home", "hf_alicetoken", **{COMFY_API_KEY_SECRET: COMFY_KEY})
    result = run_wizard("publish", folder, "--space", "gpt-image", env=env)
    assert result.returncode == 0, result.stderr
    space = fake_hub.repos[("space", "alice/gpt-image")]
    assert space.secrets[COMFY_API_KEY_SECRET]["value"] == COMFY_KEY
    assert not any(COMFY_KEY.encode() in data for data in space.files.values())
    assert COMFY_KEY not in result.stdout + result.stderr


def test_publish_without_a_key_warns_and_a_core_app_gets_no_secret(openai, fake_hub, tmp_path):
    folder = sessions.build(openai, tmp_path / "app")
    env = client_env(fake_hub.url, tmp_path / "hf_home", "hf_alicetoken")
    env.pop(COMFY_API_KEY_SECRET, None)
    result = run_wizard("publish", folder, "--space", "gpt-image", env=env)
    assert result.returncode == 0, result.stderr
    assert "no Comfy API key was given" in result.stderr
    assert COMFY_API_KEY_SECRET not in fake_hub.repos[("space", "alice/gpt-image")].secrets

    core = sessions.build(sessions.open_workflow(SDXL.read_bytes(), SDXL.name), tmp_path / "core")
    env[COMFY_API_KEY_SECRET] = COMFY_KEY
    result = run_wizard("publish", core, "--space", "sdxl", env=env)
    assert result.returncode == 0, result.stderr
    assert not fake_hub.repos[("space", "alice/sdxl")].secrets  # the key goes only where it is needed
