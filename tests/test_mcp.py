"""Every generated app is a documented API and an MCP tool: `generate` has typed parameters and an
"Args:" docstring from the labels, the app launches with `mcp_server=True` (gradio[mcp] in the Space's
requirements), and the README shows the `gradio_client` call. Tier 2 starts a built app and reads the
MCP tool schema Gradio serves."""

from __future__ import annotations

import ast
import inspect
import json
import sys
import urllib.request
from pathlib import Path

import pytest

from wizard import session as sessions

TEMPLATES = pytest.importorskip(
    "comfyui_workflow_templates", reason="comfyui-workflow-templates is not installed"
)
SDXL_REFINER = Path(TEMPLATES.__file__).parent / "templates" / "sdxl_refiner_prompt_example.json"


@pytest.fixture(scope="module")
def app_dir(tmp_path_factory) -> Path:
    session = sessions.open_workflow(SDXL_REFINER.read_bytes(), SDXL_REFINER.name)
    return sessions.build(session, tmp_path_factory.mktemp("mcp") / "app")


def _generate(app_dir: Path) -> ast.FunctionDef:
    tree = ast.parse((app_dir / "app.py").read_text())
    return next(node for node in tree.body if isinstance(node, ast.FunctionDef) and node.name == "generate")


def test_generate_is_typed_and_documented_from_the_labels(app_dir):
    generate = _generate(app_dir)
    annotations = {arg.arg: ast.unparse(arg.annotation) for arg in generate.args.args if arg.annotation}
    assert annotations == {
        "prompt": "str",
        "negative_prompt": "str",
        "seed": "int",
        "randomize_seed": "bool",
        "width": "int",
        "height": "int",
        "steps": "int",
        "cfg": "float",
    }
    doc = inspect.cleandoc(ast.get_docstring(generate))
    args = doc.split("Args:\n", 1)[1].split("\n\n", 1)[0].splitlines()
    assert args == [
        "    prompt: Prompt (text).",
        "    negative_prompt: Negative prompt (text).",
        "    seed: Seed (an integer of at least 0).",
        "    randomize_seed: Randomize seed (true: a random seed for each run).",
        "    width: Width (an integer from 16 to 2048).",
        "    height: Height (an integer from 16 to 2048).",
        "    steps: Steps (an integer from 1 to 100).",
        "    cfg: CFG (a number from 0.0 to 100.0).",
    ]
    assert doc.startswith("Text to image, made from a ComfyUI workflow: runs the ComfyUI workflow once.")


def test_the_app_is_an_mcp_server_with_the_extra_it_needs(app_dir):
    tree = ast.parse((app_dir / "app.py").read_text())
    launch = next(
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "launch"
    )
    assert {keyword.arg: ast.literal_eval(keyword.value) for keyword in launch.keywords}["mcp_server"] is True
    # gradio's routes.py refuses mcp_server=True without the extra (`import gradio.mcp` needs `mcp`)
    assert "gradio[mcp]==6.31.0" in (app_dir / "requirements.txt").read_text().splitlines()


def test_the_readme_shows_a_gradio_client_call_of_every_parameter(app_dir):
    readme = (app_dir / "README.md").read_text()
    code = readme.split("```python\n", 1)[1].split("\n```", 1)[0]
    call = next(node for node in ast.walk(ast.parse(code)) if isinstance(node, ast.Call) and node.keywords)
    keywords = {keyword.arg: ast.literal_eval(keyword.value) for keyword in call.keywords}
    assert list(keywords) == [arg.arg for arg in _generate(app_dir).args.args if arg.arg != "progress"] + [
        "api_name"
    ]
    assert (
        keywords["prompt"] == "daytime sky nature dark blue galaxy bottle"
        and keywords["api_name"] == "/generate"
    )
    assert "gradio_api/mcp/" in readme


@pytest.mark.tier2
def test_the_running_app_serves_generate_as_a_described_mcp_tool(tmp_path):
    from tests.test_runtime_e2e import EFFECT_WORKFLOW, AppServer, build_app

    folder = build_app(EFFECT_WORKFLOW, tmp_path / "effect_app")
    server = AppServer(folder, [sys.executable, "app.py"])
    try:
        with urllib.request.urlopen(f"{server.url}gradio_api/mcp/schema", timeout=30) as response:
            tools = json.loads(response.read())
    finally:
        server.stop()
    [tool] = [tool for tool in tools if tool["name"].endswith("generate")]
    properties = tool["inputSchema"]["properties"]
    assert list(properties) == [arg.arg for arg in _generate(folder).args.args if arg.arg != "progress"]
    assert properties["photo"]["description"] == "Photo (an image (path or URL))."
    assert tool["description"].startswith("Image to image")
