"""The AppSpec: auto spec, stable JSON round trip, and refusal of specs that do not fit."""

from __future__ import annotations

import ast
import json
from dataclasses import replace

import pytest

from tests.wizard_cli import run_wizard
from tests.workflows import conversion_from_prompt, t2i_prompt
from wizard.analyze import analyze
from wizard.appspec import AppSpec, auto_spec, python_name, workflow_fingerprint
from wizard.errors import SpecError


@pytest.fixture()
def conversion(node_defs):
    return conversion_from_prompt(t2i_prompt(), node_defs)


@pytest.fixture()
def spec(conversion, node_defs):
    return auto_spec(conversion, analyze(conversion, node_defs))


def test_auto_spec_holds_the_choices(spec):
    assert spec.spec_version == 1
    assert [(i.node_id, i.input_name, i.name) for i in spec.inputs] == [
        ("6", "text", "prompt"),
        ("7", "text", "negative_prompt"),
        ("3", "seed", "seed"),
        ("5", "width", "width"),
        ("5", "height", "height"),
        ("3", "steps", "steps"),
        ("3", "cfg", "cfg"),
    ]
    seed = spec.inputs[2]
    assert seed.randomize and seed.advanced and seed.default == 156680208700286
    assert [i.order for i in spec.inputs] == list(range(7))
    assert [(o.node_id, o.name, o.component) for o in spec.outputs] == [("9", "images", "Gallery")]
    assert spec.title == "Text to image"  # no model file name
    assert spec.emoji == "🎨" and "text-to-image" in spec.tags
    assert spec.comfyui["commit"].startswith("a125cd84")
    assert [m.name for m in spec.models] == ["v1-5-pruned-emaonly-fp16.safetensors"]


def test_json_round_trip_is_sorted_and_stable(spec, conversion, tmp_path):
    text = spec.to_json()
    data = json.loads(text)
    assert list(data) == sorted(data)
    assert data["spec_version"] == 1
    assert set(data["models"][0]) == {
        "name",
        "folder",
        "repo_id",
        "path",
        "revision",
        "url",
        "gated",
        "size",
        "source",
    }
    again = AppSpec.from_json(text)
    assert again == spec and again.to_json() == text
    spec.save(tmp_path / "spec.json")
    assert AppSpec.load(tmp_path / "spec.json", conversion) == spec


def test_fingerprint_ignores_values_but_not_structure(conversion, node_defs):
    prompt = t2i_prompt()
    prompt["6"]["inputs"]["text"] = "another prompt"
    assert workflow_fingerprint(prompt) == workflow_fingerprint(conversion.prompt)
    prompt["8"]["inputs"]["samples"] = ["5", 0]
    assert workflow_fingerprint(prompt) != workflow_fingerprint(conversion.prompt)


def test_a_spec_for_another_workflow_is_refused(spec, node_defs, tmp_path):
    other = t2i_prompt()
    other["10"] = {"class_type": "PreviewImage", "inputs": {"images": ["8", 0]}}
    spec.save(tmp_path / "spec.json")
    with pytest.raises(SpecError, match="made for another workflow"):
        AppSpec.load(tmp_path / "spec.json", conversion_from_prompt(other, node_defs))


def _edited(spec: AppSpec, index: int, **changes) -> AppSpec:
    inputs = list(spec.inputs)
    inputs[index] = replace(inputs[index], **changes)
    return replace(spec, inputs=tuple(inputs))


@pytest.mark.parametrize(
    "index, changes, message",
    [
        (0, {"node_id": "99"}, "refers to node 99"),
        (0, {"input_name": "clip"}, "has no widget 'clip'"),
        (5, {"minimum": 50, "maximum": 10}, "minimum 50 is above maximum 10"),
        (5, {"step": 0}, "step must be positive"),
        (5, {"default": 500}, "outside 1..100"),
        (5, {"component": "Textbox"}, "cannot be a Textbox"),
        (5, {"component": "Slider", "maximum": None}, "needs minimum, maximum and step"),
        (0, {"name": "class"}, "cannot be a parameter name"),
        (0, {"name": "workflow"}, "cannot be a parameter name"),
        (1, {"name": "prompt"}, "used twice"),
        (1, {"label": "PROMPT"}, "label 'PROMPT' is used twice"),
        (0, {"randomize": True}, "only an INT seed"),
        (5, {"default": "twenty"}, "not a INT value"),
        (0, {"value_type": "INT", "component": "Number", "default": 3}, "holds 'a glass bottle', not a INT"),
    ],
)
def test_bad_inputs_are_refused_with_one_line(spec, conversion, index, changes, message):
    with pytest.raises(SpecError, match=message.replace("(", r"\(").replace(".", r"\.")) as caught:
        _edited(spec, index, **changes).check(conversion)
    assert "\n" not in str(caught.value)


def test_dropdown_default_must_be_a_choice(spec, conversion):
    bad = _edited(spec, 0, value_type="COMBO", component="Dropdown", choices=("a", "b"), default="c")
    with pytest.raises(SpecError, match="not one of its choices"):
        bad.check(conversion)


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda d: d.update(spec_version=2), "spec_version 2 is not supported"),
        (lambda d: d.pop("title"), 'needs a string "title"'),
        (lambda d: d.update(duration=0), "duration 0 s is out of range"),
        (lambda d: d.update(duration="60"), '"duration" must be seconds'),
        (lambda d: d["inputs"][0].update(colour="red"), "unknown key"),
        (lambda d: d["inputs"][0].pop("node_id"), "lacks node_id"),
        (lambda d: d["inputs"][0].update(order="1"), "'order' must be int"),
        (lambda d: d["outputs"][0].update(component="Video"), "shown with a Gallery"),
        (lambda d: d.update(comfyui={"repo": 1}), '"comfyui" must be'),
        (lambda d: d.update(inputs={}), '"inputs" must be a list'),
    ],
)
def test_bad_json_is_refused(spec, mutate, message):
    data = json.loads(spec.to_json())
    mutate(data)
    with pytest.raises(SpecError, match=message):
        AppSpec.from_json(json.dumps(data))


def test_not_json_and_missing_file(tmp_path, conversion):
    with pytest.raises(SpecError, match="not valid JSON"):
        AppSpec.from_json("{")
    with pytest.raises(SpecError, match="cannot read the spec"):
        AppSpec.load(tmp_path / "missing.json", conversion)


def test_python_names_are_unique_readable_identifiers():
    taken: set[str] = set()
    names = [
        python_name(label, taken)
        for label in ["Prompt", "Prompt", "class", "3D model", "Ünïcode!", "中文", ""]
    ]
    assert names == ["prompt", "prompt_2", "class_2", "input_3d_model", "unicode", "value", "value_2"]
    assert all(name.isidentifier() for name in names)
    assert (
        python_name("A very long label that goes on and on about the input", taken)
        == "a_very_long_label_that_goes_on_a"
    )


def test_spec_cli_writes_a_spec_build_accepts(templates_dir, tmp_path):
    spec_path = tmp_path / "spec.json"
    workflow = templates_dir / "default.json"
    written = run_wizard("spec", str(workflow), "--auto", "-o", str(spec_path))
    assert written.returncode == 0, written.stderr
    data = json.loads(spec_path.read_text())
    data["inputs"] = data["inputs"][:3]  # the user keeps only the prompts and the seed
    spec_path.write_text(json.dumps(data))
    built = run_wizard("build", str(workflow), "--spec", str(spec_path), "-o", str(tmp_path / "app"))
    assert built.returncode == 0, built.stderr
    tree = ast.parse((tmp_path / "app/app.py").read_text())
    generate = next(node for node in tree.body if getattr(node, "name", None) == "generate")
    assert [arg.arg for arg in generate.args.args] == [
        "prompt",
        "negative_prompt",
        "seed",
        "randomize_seed",
        "progress",
    ]
    other = run_wizard(
        "build", str(templates_dir / "lora.json"), "--spec", str(spec_path), "-o", str(tmp_path / "other")
    )
    assert other.returncode == 2
    assert other.stderr.strip().splitlines()[-1].startswith("error: this spec was made for another workflow")
