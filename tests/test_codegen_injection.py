"""Hostile strings in a workflow and its spec stay data in every generated file.

Prompts, node titles, filename prefixes, the app title and description carry triple quotes,
backslashes, a call to `__import__`, format fields, NUL, U+2028 and `</script>`. app.py is parsed,
never run: its string constants must round-trip exactly and no name or call may come from them.
"""

from __future__ import annotations

import ast
import json
from dataclasses import replace

import pytest
import yaml

from tests.workflows import conversion_from_prompt, t2i_prompt
from wizard.analyze import analyze
from wizard.appspec import AppInput, AppSpec, auto_spec
from wizard.codegen import build_space, short_description

PAYLOAD = "'''\"\"\" \\ \\' '); __import__('os').system('touch /tmp/pwned') # {x} {0!r:>{1}} %s \x00 \u2028 </script>"
PROMPT = f"a cat {PAYLOAD}"
TITLE = f"Save {PAYLOAD}"
PREFIX = f"out/{PAYLOAD}"
APP_TITLE = f"My app {PAYLOAD}"
DESCRIPTION = f"Does things {PAYLOAD}"
LABEL = f"Prefix {PAYLOAD}"


@pytest.fixture()
def built(node_defs, tmp_path):
    prompt = t2i_prompt()
    prompt["6"]["inputs"]["text"] = PROMPT
    prompt["9"]["inputs"]["filename_prefix"] = PREFIX
    prompt["9"]["_meta"]["title"] = TITLE
    ui_workflow = {
        "nodes": [{"id": 9, "title": TITLE, "widgets_values": [PREFIX]}],
        "links": [],
        "version": 0.4,
    }
    conversion = conversion_from_prompt(prompt, node_defs, ui_graph=ui_workflow)
    spec = auto_spec(conversion, analyze(conversion, node_defs))
    prefix_input = AppInput(
        node_id="9",
        input_name="filename_prefix",
        name="prefix",
        label=LABEL,
        component="Textbox",
        value_type="STRING",
        default=PREFIX,
        order=len(spec.inputs),
    )
    spec = replace(spec, title=APP_TITLE, description=DESCRIPTION, inputs=(*spec.inputs, prefix_input))
    folder = build_space(conversion, spec, tmp_path / "space")
    return conversion, spec, folder


def _string_constants(tree: ast.AST) -> list[str]:
    return [
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str)
    ]


def test_app_py_holds_hostile_strings_only_as_exact_literals(built):
    _, spec, folder = built
    source = (folder / "app.py").read_text(encoding="utf-8")
    tree = ast.parse(source)
    constants = _string_constants(tree)
    for value in (PROMPT, PREFIX, LABEL, APP_TITLE, TITLE):
        assert value in constants, value
    assert "\x00" not in source and "\u2028" not in source  # escaped inside the literals
    # Nothing from the payload became code: no names, attributes or calls outside the literals.
    identifiers = {node.id for node in ast.walk(tree) if isinstance(node, ast.Name)}
    identifiers |= {node.attr for node in ast.walk(tree) if isinstance(node, ast.Attribute)}
    assert not identifiers & {"__import__", "os", "system"}
    # black strips docstrings, so the title enters it on one line, control characters made spaces.
    one_line = " ".join(APP_TITLE.replace("\x00", " ").replace("\u2028", " ").split())
    assert ast.get_docstring(tree) == f"{one_line}: a Gradio app made from a ComfyUI workflow."
    blocks = next(
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "Blocks"
    )
    assert ast.literal_eval(blocks.keywords[0].value) == APP_TITLE
    # The labels handed to the runtime are the exact strings too.
    load = next(
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "load"
    )
    inputs = next(k.value for k in load.keywords if k.arg == "inputs")
    declared = [call for call in inputs.values if ast.literal_eval(call.args[1]) == "filename_prefix"]
    assert [ast.literal_eval(call.keywords[0].value) for call in declared] == [LABEL]


def test_json_files_parse_back_to_the_same_strings(built):
    conversion, spec, folder = built
    assert json.loads((folder / "workflow_api.json").read_text(encoding="utf-8")) == conversion.prompt
    assert json.loads((folder / "workflow.json").read_text(encoding="utf-8")) == conversion.ui_graph
    assert AppSpec.from_json((folder / "appspec.json").read_text(encoding="utf-8")) == spec


def test_readme_front_matter_and_body_stay_data(built):
    _, spec, folder = built
    text = (folder / "README.md").read_text(encoding="utf-8")
    _, matter, body = text.split("---\n", 2)
    front = yaml.safe_load(matter)
    assert front["title"] == APP_TITLE
    assert front["short_description"] == short_description(DESCRIPTION)
    assert len(front["short_description"]) <= 60 and front["sdk"] == "gradio"
    assert "<" not in body  # no HTML at all: the payload's tag is escaped
    assert "\x00" not in text and "\u2028" not in body
    assert "&lt;/script&gt;" in body  # shown, escaped


def test_hostile_model_names_stay_data(node_defs, tmp_path):
    prompt = t2i_prompt()
    evil = f"x {PAYLOAD}.safetensors"
    prompt["4"]["inputs"]["ckpt_name"] = evil
    conversion = conversion_from_prompt(prompt, node_defs)
    spec = auto_spec(conversion, analyze(conversion, node_defs))
    folder = build_space(conversion, spec, tmp_path / "space")
    lock = json.loads((folder / "comfy.lock.json").read_text(encoding="utf-8"))
    assert [model["name"] for model in lock["models"]] == [evil]
    text = (folder / "README.md").read_text(encoding="utf-8")
    front = yaml.safe_load(text.split("---\n", 2)[1])
    assert all("</script>" not in entry for entry in front.get("preload_from_hub", []))
    assert "</script>" not in text.split("---\n", 2)[2]
    ast.parse((folder / "app.py").read_text(encoding="utf-8"))
